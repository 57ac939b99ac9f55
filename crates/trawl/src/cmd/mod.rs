//! One module per subcommand.

pub mod alert;
pub mod cat;
pub mod cut;
pub mod hunt;
pub mod pdns;
pub mod pivot;
pub mod query;
pub mod report;
pub mod review;
// @score-mod
pub mod score;

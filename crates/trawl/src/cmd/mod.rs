//! One module per subcommand.

pub mod alert;
pub mod cat;
pub mod cut;
pub mod pivot;
// @score-mod
pub mod score;

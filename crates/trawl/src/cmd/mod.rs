//! One module per subcommand.

pub mod alert;
pub mod cat;
pub mod cut;
// @score-mod
pub mod score;

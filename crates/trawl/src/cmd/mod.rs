//! One module per subcommand.

pub mod cat;
pub mod cut;
// @score-mod
pub mod score;

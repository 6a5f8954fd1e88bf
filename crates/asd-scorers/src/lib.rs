//! asd-scorers (under construction).

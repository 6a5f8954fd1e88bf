//! asd (under construction).

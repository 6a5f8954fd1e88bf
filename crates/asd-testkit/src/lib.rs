//! asd-testkit (under construction).

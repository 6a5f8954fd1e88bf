//! asd-data (under construction).

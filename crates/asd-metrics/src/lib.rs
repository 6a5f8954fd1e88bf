//! asd-metrics (under construction).

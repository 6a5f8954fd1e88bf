//! The synthetic machine-sound generator (under construction).

//! Classification heads used during training (and by the PROB scorer).

pub mod arcface;

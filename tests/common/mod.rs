pub mod public_series;

//! Write: Parquet tables (schemas in [`schema`]), PNG charts, the manifest — every file written
//! atomically ([`atomic`]).

pub mod atomic;
pub mod charts;
pub mod font;
pub mod manifest;
pub mod models;
pub mod report;
pub mod schema;
pub mod tables;

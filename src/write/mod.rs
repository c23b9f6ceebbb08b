//! Write: Parquet tables (schemas in [`schema`]), PNG/SVG charts, `report.md`, `report.html`, the
//! manifest — every file written atomically ([`atomic`]).

pub mod atomic;
pub mod charts;
pub mod font;
pub mod html;
pub mod manifest;
pub mod models;
mod png;
pub mod report;
pub mod schema;
pub mod staging;
pub mod tables;
pub mod theme_model;

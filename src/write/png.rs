//! The PNG charts' drawing surface: plotters' bitmap backend, with text placed by us. plotters
//! 0.3.7 puts each glyph's outline at the pen position without its left side bearing, so a glyph
//! with a wide bearing ("1", "t", "l") sits too far left and a gap opens after it ("201 2",
//! "documen t"). Here a glyph is rasterized at the pen, bearing included, with plotters' own
//! vertical placement, anchors, rotation and text widths (its widths, the sum of advances and
//! kerning, are right); everything else goes to the bitmap backend unchanged. SVG text is laid
//! out by the viewer and needs none of this.

use ab_glyph::{point, Font, FontRef, ScaleFont};
use plotters::prelude::BitMapBackend;
use plotters_backend::text_anchor::{HPos, VPos};
use plotters_backend::{BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingBackend, DrawingErrorKind};

pub struct PngBackend<'a> {
    bitmap: BitMapBackend<'a>,
    font: FontRef<'static>,
}

impl<'a> PngBackend<'a> {
    /// Draw on `bitmap` with `font` (the face every chart's text is set in).
    pub fn new(bitmap: BitMapBackend<'a>, font: FontRef<'static>) -> Self {
        PngBackend { bitmap, font }
    }
}

impl<'a> DrawingBackend for PngBackend<'a> {
    type ErrorType = <BitMapBackend<'a> as DrawingBackend>::ErrorType;

    fn get_size(&self) -> (u32, u32) {
        self.bitmap.get_size()
    }

    fn ensure_prepared(&mut self) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.bitmap.ensure_prepared()
    }

    fn present(&mut self) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.bitmap.present()
    }

    fn draw_pixel(&mut self, at: BackendCoord, color: BackendColor) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.bitmap.draw_pixel(at, color)
    }

    fn draw_line<S: BackendStyle>(
        &mut self,
        from: BackendCoord,
        to: BackendCoord,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.bitmap.draw_line(from, to, style)
    }

    fn draw_rect<S: BackendStyle>(
        &mut self,
        upper_left: BackendCoord,
        bottom_right: BackendCoord,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.bitmap.draw_rect(upper_left, bottom_right, style, fill)
    }

    fn draw_path<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        path: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.bitmap.draw_path(path, style)
    }

    fn draw_circle<S: BackendStyle>(
        &mut self,
        center: BackendCoord,
        radius: u32,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.bitmap.draw_circle(center, radius, style, fill)
    }

    fn fill_polygon<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        vertices: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.bitmap.fill_polygon(vertices, style)
    }

    fn blit_bitmap(
        &mut self,
        at: BackendCoord,
        (width, height): (u32, u32),
        source: &[u8],
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.bitmap.blit_bitmap(at, (width, height), source)
    }

    fn draw_text<S: BackendTextStyle>(
        &mut self,
        text: &str,
        style: &S,
        at: BackendCoord,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        let color = style.color();
        if color.alpha == 0.0 {
            return Ok(());
        }
        // Anchors as plotters places them, from its layout box.
        let ((min_x, min_y), (max_x, max_y)) =
            style.layout_box(text).map_err(|e| DrawingErrorKind::FontError(Box::new(e)))?;
        let (width, height) = (max_x - min_x, max_y - min_y);
        let dx = match style.anchor().h_pos {
            HPos::Left => 0,
            HPos::Right => -width,
            HPos::Center => -width / 2,
        };
        let dy = match style.anchor().v_pos {
            VPos::Top => 0,
            VPos::Center => -height / 2,
            VPos::Bottom => -height,
        };
        let (transform, (w, h)) = (style.transform(), self.get_size());
        let size = style.size() as f32;
        let font = self.font.as_scaled(size);
        let mut pen = 0f32;
        let mut previous = None;
        let mut ink = Vec::new();
        for c in text.chars() {
            let id = font.glyph_id(c);
            if let Some(before) = previous {
                pen += font.kern(before, id);
            }
            previous = Some(id);
            // Positioned at the pen, the outline's pixel bounds include the bearing.
            if let Some(outline) = font.outline_glyph(id.with_scale_and_position(size, point(pen, 0.0))) {
                let bounds = outline.px_bounds();
                // plotters' baseline: half the size below the top of the layout box.
                let (left, top) = (bounds.min.x as i32, (size / 2.0 + bounds.min.y) as i32);
                outline.draw(|x, y, coverage| ink.push((left + x as i32, top + y as i32, coverage)));
            }
            pen += font.h_advance(id);
        }
        for (x, y, coverage) in ink {
            let (x, y) = transform.transform(x + dx - min_x, y + dy - min_y);
            let (x, y) = (at.0 + x, at.1 + y);
            if x >= 0 && x < w as i32 && y >= 0 && y < h as i32 {
                let mixed = BackendColor { alpha: color.alpha * coverage as f64, rgb: color.rgb };
                self.bitmap.draw_pixel((x, y), mixed)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use plotters::style::{register_font, FontStyle, IntoFont, TextStyle, BLACK};

    const TINY: &[u8] = include_bytes!("../../tests/fixtures/fonts/tiny_sc.ttf");

    #[test]
    fn a_glyph_starts_after_its_left_side_bearing() {
        register_font("png-test", FontStyle::Normal, TINY).map_err(|_| "font").unwrap();
        let font = FontRef::try_from_slice(TINY).unwrap();
        let size = 40.0;
        let bearing = font.as_scaled(size as f32).h_side_bearing(font.glyph_id('1'));
        assert!(bearing >= 2.0, "the fixture's glyphs must have a bearing to test: {bearing}");
        let (w, h) = (120u32, 60u32);
        let mut pixels = vec![255u8; (w * h * 3) as usize];
        {
            let mut png = PngBackend::new(BitMapBackend::with_buffer(&mut pixels, (w, h)), font.clone());
            let style = TextStyle::from(("png-test", size).into_font()).color(&BLACK);
            png.draw_text("11", &style, (10, 10)).unwrap();
            png.present().unwrap();
        }
        let inked: Vec<u32> = (0..w).filter(|&x| (0..h).any(|y| pixels[((y * w + x) * 3) as usize] < 128)).collect();
        // plotters alone starts the ink at x = 10, the pen, and leaves the bearing's gap after each glyph.
        assert_eq!(inked[0], 10 + bearing.floor() as u32, "ink columns {inked:?}");
        let advance = font.as_scaled(size as f32).h_advance(font.glyph_id('1'));
        let second = inked.iter().find(|&&x| x as f32 >= 10.0 + advance).copied().unwrap();
        assert!((second as f32 - (10.0 + advance + bearing)).abs() <= 1.0, "second glyph at {second}");
    }
}

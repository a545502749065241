/**
 * Reports: SVG line, scatter and bar plots, and documents of text, tables and figures written as HTML
 * and Markdown.
 *
 * @module kiln/report
 */
export { linePlot, scatterPlot, barPlot, ticks, tickLabel, colorOf, type LineSeries, type ScatterSeries, type PlotOptions, type Guide } from './svg.js';
export { toHtml, toMarkdown, writeReport, writeFigure, type Block, type ReportDoc } from './document.js';
export {
  drawBitmapText, hexRgb, fillRect, bitmapTextWidth, bitmapTextHeight, bitmapWordsFit, wrapBitmapText, bitmapGlyph, BITMAP_FONT_CHARS, GLYPH_WIDTH, GLYPH_HEIGHT,
  type RgbaImage,
} from './bitmap-font.js';

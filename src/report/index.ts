export { linePlot, scatterPlot, barPlot, ticks, colorOf, type LineSeries, type ScatterSeries, type PlotOptions, type Guide } from './svg.js';
export { toHtml, toMarkdown, writeReport, writeFigure, type Block, type ReportDoc } from './document.js';

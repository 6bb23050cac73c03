// The little of blessed-contrib the charts use (the package ships no types).
declare module 'blessed-contrib' {
  import type { Widgets } from 'blessed';

  export interface LineSeries {
    title: string;
    x: string[];
    y: number[];
    style?: { line?: string };
  }

  export interface LineOptions extends Widgets.BoxOptions {
    showLegend?: boolean;
    xLabelPadding?: number;
    xPadding?: number;
    numYLabels?: number;
    wholeNumbersOnly?: boolean;
    abbreviate?: boolean;
    minY?: number;
    maxY?: number;
    style?: { line?: string; text?: string; baseline?: string };
  }

  export interface CanvasContext {
    fillStyle: string;
    strokeStyle: string;
    fillText(text: string, x: number, y: number): void;
  }

  export interface LineElement extends Widgets.BoxElement {
    options: LineOptions;
    ctx: CanvasContext;
    canvasSize: { width: number; height: number };
    calcSize(): void;
    setData(series: LineSeries[]): void;
  }

  const contrib: {
    line(options: LineOptions): LineElement;
  };
  export default contrib;
}

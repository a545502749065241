/**
 * Shared shapes of Kiln's detection capability (MobileDets + SSDLite). Boxes follow COCO: `[x, y, width, height]`
 * in pixels, origin at the image's top-left corner, so ground truth, predictions and COCO JSON files need no
 * conversion at the edges.
 */

/** One box in COCO's `[x, y, width, height]` pixel convention. */
export type BoxXywh = [number, number, number, number];

export interface Category {
  /** COCO category id (not necessarily contiguous). */
  id: number;
  name: string;
}

/** One annotated image. Pixels are row-major `height x width x 3`, values in [0, 1]. */
export interface DetectionImage {
  /** COCO image id, unique within its dataset. */
  id: number;
  height: number;
  width: number;
  pixels: Float32Array;
  boxes: BoxXywh[];
  /** Category id of each box (parallel to `boxes`). */
  categoryIds: number[];
  /** COCO `iscrowd` of each box; absent means none is a crowd. */
  crowd?: boolean[];
}

export interface DetectionSplits {
  train: DetectionImage[];
  val: DetectionImage[];
  test: DetectionImage[];
}

export interface DetectionDataset extends DetectionSplits {
  name: string;
  categories: Category[];
  /** Every image of the dataset has this size (generated sets), so a detector can be built for it. */
  height: number;
  width: number;
}

/** One predicted box, as in a COCO results file. */
export interface Detection {
  imageId: number;
  categoryId: number;
  box: BoxXywh;
  score: number;
}

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

/** One image entry of a COCO ground-truth file (`file_name` may be empty when only evaluating). */
export interface CocoImageInfo {
  id: number;
  width: number;
  height: number;
  fileName: string;
}

/** One ground-truth box of a COCO file. */
export interface CocoAnnotation {
  id: number;
  imageId: number;
  categoryId: number;
  box: BoxXywh;
  /** COCO's `area` (the segment's area in COCO itself; the box area when the file has none). */
  area: number;
  /** COCO `iscrowd`: a crowd region is ignored, and may absorb any number of detections. */
  crowd: boolean;
}

/** A COCO ground-truth file, validated: ids unique, every annotation on a known image and category. */
export interface CocoGroundTruth {
  images: CocoImageInfo[];
  categories: Category[];
  annotations: CocoAnnotation[];
}

import sharp, { type Metadata, type Sharp } from 'sharp';
import { THUMBNAIL_MIME } from '../../domain/upload.js';
import type { ImageProcessor, ProcessedImage } from '../../application/ports/uploads.js';

export interface SharpImageProcessorOptions {
  /** Pixels (width x height) an image may have; more is refused from its header, before decoding. @default 50_000_000 */
  readonly maxPixels?: number;
  /** The thumbnail's longest side. @default 320 */
  readonly thumbnailSize?: number;
}

/**
 * Images through sharp (libvips): the header is read first and an image with
 * more pixels than allowed is refused before any is decoded (a 20000x20000
 * PNG of a few kilobytes would otherwise take 1.6 GB). What is kept is
 * re-encoded upright (EXIF orientation applied) with no metadata at all:
 * sharp writes none unless asked, so EXIF, GPS, XMP and IPTC are gone.
 */
export class SharpImageProcessor implements ImageProcessor {
  private readonly maxPixels: number;
  private readonly thumbnailSize: number;

  constructor(o: SharpImageProcessorOptions = {}) {
    this.maxPixels = o.maxPixels ?? 50_000_000;
    this.thumbnailSize = o.thumbnailSize ?? 320;
  }

  async process(data: Uint8Array, mime: string): Promise<ProcessedImage | 'too-large' | 'unreadable'> {
    const animated = mime === 'image/gif' || mime === 'image/webp';
    const open = () => sharp(data, { limitInputPixels: this.maxPixels, animated, failOn: 'error' });
    let meta: Metadata;
    try {
      meta = await open().metadata();
    } catch (error) {
      // sharp checks the header's dimensions against the limit before reading any pixel.
      return tooManyPixels(error) ? 'too-large' : 'unreadable';
    }
    const width = meta.width ?? 0;
    const height = meta.pageHeight ?? meta.height ?? 0;
    if (width === 0 || height === 0) return 'unreadable';
    if (width * height > this.maxPixels) return 'too-large';
    try {
      const upright = open().rotate();
      const clean = await reencode(upright, mime).toBuffer({ resolveWithObject: true });
      const thumbnail = await sharp(data, { limitInputPixels: this.maxPixels, failOn: 'error' })
        .rotate()
        .resize(this.thumbnailSize, this.thumbnailSize, { fit: 'inside', withoutEnlargement: true })
        .webp({ quality: 75 })
        .toBuffer();
      return { width: clean.info.width, height: clean.info.pageHeight ?? clean.info.height, clean: clean.data, thumbnail, thumbnailMime: THUMBNAIL_MIME };
    } catch (error) {
      return tooManyPixels(error) ? 'too-large' : 'unreadable';
    }
  }
}

function reencode(image: Sharp, mime: string): Sharp {
  switch (mime) {
    case 'image/png':
      return image.png();
    case 'image/gif':
      return image.gif();
    case 'image/webp':
      return image.webp({ quality: 90 });
    default:
      return image.jpeg({ quality: 90, mozjpeg: true });
  }
}

const tooManyPixels = (error: unknown): boolean => error instanceof Error && /pixel limit/i.test(error.message);

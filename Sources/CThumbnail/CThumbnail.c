// Thumbnails with libjpeg(-turbo) and libpng. libjpeg reports errors by calling error_exit, which
// must not return: it longjmps back to the setjmp here, inside C, so no Swift frame is ever jumped
// over. libpng's row API reports errors the same way (png_longjmp to png_jmpbuf); its simplified
// API (png_image_*), kept for interlaced images, needs no setjmp from its caller.
#include "CThumbnail.h"

#include <stdio.h>  // before jpeglib.h, which uses FILE without including it
#include <jpeglib.h>
#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

struct twin_jpeg_error {
    struct jpeg_error_mgr manager;
    jmp_buf jump;
    char *message;
    size_t capacity;
};

static void twin_jpeg_error_exit(j_common_ptr info) {
    struct twin_jpeg_error *error = (struct twin_jpeg_error *)info->err;
    char text[JMSG_LENGTH_MAX];
    (*info->err->format_message)(info, text);
    snprintf(error->message, error->capacity, "%s", text);
    longjmp(error->jump, 1);
}

static void twin_jpeg_silence(j_common_ptr info, int level) { (void)info; (void)level; }

/// The error manager for one libjpeg object: errors longjmp to `error->jump` (set by the caller)
/// with their text in `message`; warnings are dropped.
static struct jpeg_error_mgr *twin_jpeg_errors(struct twin_jpeg_error *error, char *message, size_t capacity) {
    struct jpeg_error_mgr *manager = jpeg_std_error(&error->manager);
    error->manager.error_exit = twin_jpeg_error_exit;
    error->manager.emit_message = twin_jpeg_silence;
    error->message = message;
    error->capacity = capacity;
    return manager;
}

/// RGB pixels, row-major, 3 bytes each.
struct twin_pixels {
    uint8_t *rgb;
    int width;
    int height;
};

static int decode_jpeg(const uint8_t *data, size_t length, int max_side, uint64_t max_pixels, struct twin_pixels *pixels,
                       char *message, size_t capacity) {
    struct jpeg_decompress_struct info;
    struct twin_jpeg_error error;
    uint8_t *volatile rgb = NULL;
    info.err = twin_jpeg_errors(&error, message, capacity);
    if (setjmp(error.jump)) {
        jpeg_destroy_decompress(&info);
        free(rgb);
        return -2;
    }
    jpeg_create_decompress(&info);
    jpeg_mem_src(&info, (const unsigned char *)data, (unsigned long)length);
    jpeg_read_header(&info, TRUE);
    if ((uint64_t)info.image_width * info.image_height > max_pixels) {
        snprintf(message, capacity, "%ux%u pixels is more than this makes thumbnails of", info.image_width, info.image_height);
        jpeg_destroy_decompress(&info);
        return -3;
    }
    info.out_color_space = JCS_RGB;
    // The largest DCT reduction that keeps the longer side at least max_side.
    unsigned int longer = info.image_width > info.image_height ? info.image_width : info.image_height;
    info.scale_num = 1;
    info.scale_denom = 1;
    while (info.scale_denom < 8 && longer / (info.scale_denom * 2) >= (unsigned int)max_side) info.scale_denom *= 2;
    info.dct_method = JDCT_IFAST;
    jpeg_start_decompress(&info);
    size_t stride = (size_t)info.output_width * 3;
    rgb = malloc(stride * info.output_height);
    if (rgb == NULL) {
        jpeg_destroy_decompress(&info);
        snprintf(message, capacity, "out of memory");
        return -4;
    }
    while (info.output_scanline < info.output_height) {
        JSAMPROW row = rgb + stride * info.output_scanline;
        jpeg_read_scanlines(&info, &row, 1);
    }
    pixels->width = (int)info.output_width;
    pixels->height = (int)info.output_height;
    pixels->rgb = rgb;
    jpeg_finish_decompress(&info);
    jpeg_destroy_decompress(&info);
    return 0;
}

/// Where libpng reads a PNG held in memory from.
struct twin_png_source {
    const uint8_t *data;
    size_t length;
    size_t offset;
};

static void twin_png_read(png_structp png, png_bytep out, size_t count) {
    struct twin_png_source *source = (struct twin_png_source *)png_get_io_ptr(png);
    if (count > source->length - source->offset) png_error(png, "the image is truncated");
    memcpy(out, source->data + source->offset, count);
    source->offset += count;
}

static void twin_png_error(png_structp png, png_const_charp text) {
    char **message = (char **)png_get_error_ptr(png);
    if (message && *message) snprintf(*message, 256, "%s", text);
    png_longjmp(png, 1);
}

static void twin_png_warning(png_structp png, png_const_charp text) { (void)png; (void)text; }

/// Decodes a PNG row by row and averages it down to fit `max_side` as it goes, never holding the
/// full image: each row is expanded to 8-bit RGB (RGBA when the image has transparency, composed
/// over white in sRGB values), and added into the boxes of the output row it falls in (the boxes
/// `scale` would use). Interlaced images,
/// whose rows arrive in seven passes, return 1 for the caller to decode whole.
static int decode_png_scaled(const uint8_t *data, size_t length, int max_side, uint64_t max_pixels,
                             struct twin_pixels *pixels, char *message, size_t capacity) {
    char *error_text = capacity >= 256 ? message : NULL;
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &error_text, twin_png_error, twin_png_warning);
    if (png == NULL) { snprintf(message, capacity, "out of memory"); return -4; }
    png_infop info = png_create_info_struct(png);
    uint8_t *volatile row = NULL, *volatile rgb = NULL;
    uint32_t *volatile sums = NULL;
    int *volatile columns = NULL;
    if (info == NULL || setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, info ? &info : NULL, NULL);
        free(row); free(rgb); free(sums); free(columns);
        if (capacity > 0 && message[0] == 0) snprintf(message, capacity, "the PNG does not decode");
        return -2;
    }
    struct twin_png_source source = {data, length, 0};
    png_set_read_fn(png, &source, twin_png_read);
    png_set_user_limits(png, 1u << 20, 1u << 20);
    png_read_info(png, info);
    png_uint_32 width = png_get_image_width(png, info), height = png_get_image_height(png, info);
    if ((uint64_t)width * height > max_pixels) {
        snprintf(message, capacity, "%ux%u pixels is more than this makes thumbnails of", width, height);
        png_destroy_read_struct(&png, &info, NULL);
        return -3;
    }
    if (png_get_interlace_type(png, info) != PNG_INTERLACE_NONE) {
        png_destroy_read_struct(&png, &info, NULL);
        return 1;
    }
#ifdef PNG_IGNORE_ADLER32
    // The file's integrity is the convergent tag's business; a thumbnail need not pay for zlib's.
    png_set_option(png, PNG_IGNORE_ADLER32, PNG_OPTION_ON);
#endif
    const int alpha = (png_get_color_type(png, info) & PNG_COLOR_MASK_ALPHA) || png_get_valid(png, info, PNG_INFO_tRNS);
    png_set_expand(png);
    png_set_strip_16(png);
    png_set_gray_to_rgb(png);
    png_read_update_info(png, info);
    int longer = width > height ? (int)width : (int)height;
    int out_width = (int)width, out_height = (int)height;
    if (longer > max_side) {
        out_width = (int)((int64_t)width * max_side / longer);
        out_height = (int)((int64_t)height * max_side / longer);
        if (out_width < 1) out_width = 1;
        if (out_height < 1) out_height = 1;
    }
    row = malloc(png_get_rowbytes(png, info));
    rgb = malloc((size_t)out_width * out_height * 3);
    sums = calloc((size_t)out_width * 3, sizeof(uint32_t));
    columns = malloc(sizeof(int) * (size_t)width);
    if (!row || !rgb || !sums || !columns) png_error(png, "out of memory");
    // Plain copies of the buffers for the loops (the volatile originals are for the error path).
    uint8_t *row_pixels = row, *out_pixels = rgb;
    uint32_t *box_sums = sums;
    int *column_box = columns;
    // The output column each source column adds to: box x covers [x·W/w, (x+1)·W/w).
    for (int x = 0, source_x = 0; x < out_width; x++) {
        int end = (int)((int64_t)(x + 1) * width / out_width);
        for (; source_x < end; source_x++) column_box[source_x] = x;
    }
    int out_y = 0;
    int row_end = (int)((int64_t)1 * height / out_height);
    int rows_in_box = 0;
    for (png_uint_32 y = 0; y < height; y++) {
        png_read_row(png, row_pixels, NULL);
        const uint8_t *pixel = row_pixels;
        if (alpha) {
            for (png_uint_32 x = 0; x < width; x++, pixel += 4) {
                uint32_t opacity = pixel[3], white = 255u * (255u - opacity);
                uint32_t *sum = box_sums + 3 * column_box[x];
                sum[0] += (pixel[0] * opacity + white + 127) / 255;
                sum[1] += (pixel[1] * opacity + white + 127) / 255;
                sum[2] += (pixel[2] * opacity + white + 127) / 255;
            }
        } else {
            for (png_uint_32 x = 0; x < width; x++, pixel += 3) {
                uint32_t *sum = box_sums + 3 * column_box[x];
                sum[0] += pixel[0];
                sum[1] += pixel[1];
                sum[2] += pixel[2];
            }
        }
        rows_in_box++;
        if ((int)y + 1 == row_end) {
            uint8_t *out = out_pixels + (size_t)out_y * out_width * 3;
            for (int x = 0; x < out_width; x++) {
                int x0 = (int)((int64_t)x * width / out_width), x1 = (int)((int64_t)(x + 1) * width / out_width);
                uint32_t count = (uint32_t)(x1 - x0) * (uint32_t)rows_in_box;
                for (int c = 0; c < 3; c++) out[3 * x + c] = (uint8_t)((box_sums[3 * x + c] + count / 2) / count);
            }
            memset(box_sums, 0, (size_t)out_width * 3 * sizeof(uint32_t));
            rows_in_box = 0;
            out_y++;
            row_end = (int)((int64_t)(out_y + 1) * height / out_height);
        }
    }
    png_read_end(png, NULL);
    png_destroy_read_struct(&png, &info, NULL);
    free(row); free(sums); free(columns);
    pixels->width = out_width;
    pixels->height = out_height;
    pixels->rgb = out_pixels;
    return 0;
}

static int decode_png(const uint8_t *data, size_t length, uint64_t max_pixels, struct twin_pixels *pixels,
                      char *message, size_t capacity) {
    png_image image;
    memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_memory(&image, data, length)) {
        snprintf(message, capacity, "%s", image.message);
        return -2;
    }
    if ((uint64_t)image.width * image.height > max_pixels) {
        snprintf(message, capacity, "%ux%u pixels is more than this makes thumbnails of", image.width, image.height);
        png_image_free(&image);
        return -3;
    }
    image.format = PNG_FORMAT_RGB;  // transparency composed over the background below
    size_t size = PNG_IMAGE_SIZE(image);
    uint8_t *rgb = malloc(size);
    if (rgb == NULL) {
        png_image_free(&image);
        snprintf(message, capacity, "out of memory");
        return -4;
    }
    png_color background = {255, 255, 255};
    if (!png_image_finish_read(&image, &background, rgb, 0, NULL)) {
        snprintf(message, capacity, "%s", image.message);
        free(rgb);
        return -2;
    }
    pixels->width = (int)image.width;
    pixels->height = (int)image.height;
    pixels->rgb = rgb;
    return 0;
}

/// Area-average scale of `source` to fit `max_side` (never up).
static int scale(const struct twin_pixels *source, int max_side, struct twin_pixels *target) {
    int longer = source->width > source->height ? source->width : source->height;
    if (longer <= max_side) {
        *target = *source;
        return 0;
    }
    int width = (int)((int64_t)source->width * max_side / longer), height = (int)((int64_t)source->height * max_side / longer);
    if (width < 1) width = 1;
    if (height < 1) height = 1;
    uint8_t *rgb = malloc((size_t)width * height * 3);
    if (rgb == NULL) return -4;
    for (int y = 0; y < height; y++) {
        int y0 = (int)((int64_t)y * source->height / height), y1 = (int)((int64_t)(y + 1) * source->height / height);
        if (y1 <= y0) y1 = y0 + 1;
        for (int x = 0; x < width; x++) {
            int x0 = (int)((int64_t)x * source->width / width), x1 = (int)((int64_t)(x + 1) * source->width / width);
            if (x1 <= x0) x1 = x0 + 1;
            uint64_t sum[3] = {0, 0, 0};
            for (int sy = y0; sy < y1; sy++) {
                const uint8_t *row = source->rgb + ((size_t)sy * source->width + x0) * 3;
                for (int sx = x0; sx < x1; sx++, row += 3) {
                    sum[0] += row[0];
                    sum[1] += row[1];
                    sum[2] += row[2];
                }
            }
            uint64_t count = (uint64_t)(y1 - y0) * (x1 - x0);
            uint8_t *out = rgb + ((size_t)y * width + x) * 3;
            for (int c = 0; c < 3; c++) out[c] = (uint8_t)((sum[c] + count / 2) / count);
        }
    }
    target->rgb = rgb;
    target->width = width;
    target->height = height;
    return 0;
}

/// `source` as it is meant to be shown under EXIF orientation `orientation` (TIFF 6.0 tag 274:
/// 1 as stored; 2 mirrored; 3 turned 180°; 4 flipped; 5 mirrored across the main diagonal; 6 turned
/// 90° clockwise; 7 mirrored across the other diagonal; 8 turned 90° anticlockwise). Orientations
/// 5–8 swap width and height. Any other value is taken as 1, and `target` is `source` itself.
static int orient(const struct twin_pixels *source, int orientation, struct twin_pixels *target) {
    if (orientation < 2 || orientation > 8) {
        *target = *source;
        return 0;
    }
    const int w = source->width, h = source->height, swaps = orientation >= 5;
    const int width = swaps ? h : w, height = swaps ? w : h;
    uint8_t *rgb = malloc((size_t)width * height * 3);
    if (rgb == NULL) return -4;
    for (int y = 0; y < height; y++) {
        for (int x = 0; x < width; x++) {
            int sx, sy;  // the source pixel shown at (x, y)
            switch (orientation) {
            case 2: sx = w - 1 - x; sy = y; break;
            case 3: sx = w - 1 - x; sy = h - 1 - y; break;
            case 4: sx = x; sy = h - 1 - y; break;
            case 5: sx = y; sy = x; break;
            case 6: sx = y; sy = h - 1 - x; break;
            case 7: sx = w - 1 - y; sy = h - 1 - x; break;
            default: sx = w - 1 - y; sy = x; break;  // 8
            }
            memcpy(rgb + ((size_t)y * width + x) * 3, source->rgb + ((size_t)sy * w + sx) * 3, 3);
        }
    }
    target->rgb = rgb;
    target->width = width;
    target->height = height;
    return 0;
}

static int encode_jpeg(const struct twin_pixels *pixels, int quality, uint8_t **out, size_t *out_length,
                       char *message, size_t capacity) {
    struct jpeg_compress_struct info;
    struct twin_jpeg_error error;
    unsigned char *volatile buffer = NULL;
    unsigned long size = 0;
    info.err = twin_jpeg_errors(&error, message, capacity);
    if (setjmp(error.jump)) {
        jpeg_destroy_compress(&info);
        free(buffer);
        return -2;
    }
    jpeg_create_compress(&info);
    unsigned char *destination = NULL;
    jpeg_mem_dest(&info, &destination, &size);
    info.image_width = (JDIMENSION)pixels->width;
    info.image_height = (JDIMENSION)pixels->height;
    info.input_components = 3;
    info.in_color_space = JCS_RGB;
    jpeg_set_defaults(&info);
    jpeg_set_quality(&info, quality, TRUE);
    jpeg_start_compress(&info, TRUE);
    size_t stride = (size_t)pixels->width * 3;
    while (info.next_scanline < info.image_height) {
        JSAMPROW row = pixels->rgb + stride * info.next_scanline;
        jpeg_write_scanlines(&info, &row, 1);
    }
    jpeg_finish_compress(&info);
    buffer = destination;
    jpeg_destroy_compress(&info);
    *out = buffer;
    *out_length = size;
    return 0;
}

int twin_thumbnail(const uint8_t *data, size_t length, int max_side, int quality, uint64_t max_pixels, int orientation,
                   uint8_t **out, size_t *out_length, char *error, size_t error_capacity) {
    struct twin_pixels decoded = {NULL, 0, 0}, scaled = {NULL, 0, 0}, oriented = {NULL, 0, 0};
    int status;
    if (error_capacity > 0) error[0] = 0;
    if (length >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF) {
        status = decode_jpeg(data, length, max_side, max_pixels, &decoded, error, error_capacity);
    } else if (length >= 8 && memcmp(data, "\x89PNG\r\n\x1a\n", 8) == 0) {
        status = decode_png_scaled(data, length, max_side, max_pixels, &decoded, error, error_capacity);
        if (status == 1) status = decode_png(data, length, max_pixels, &decoded, error, error_capacity);
    } else {
        snprintf(error, error_capacity, "not a JPEG or PNG image");
        return -1;
    }
    if (status != 0) return status;
    status = scale(&decoded, max_side, &scaled);
    if (status != 0) {
        free(decoded.rgb);
        snprintf(error, error_capacity, "out of memory");
        return status;
    }
    status = orient(&scaled, orientation, &oriented);
    if (status == 0) {
        status = encode_jpeg(&oriented, quality, out, out_length, error, error_capacity);
    } else {
        snprintf(error, error_capacity, "out of memory");
    }
    if (oriented.rgb != scaled.rgb) free(oriented.rgb);
    if (scaled.rgb != decoded.rgb) free(scaled.rgb);
    free(decoded.rgb);
    return status;
}

void twin_thumbnail_free(uint8_t *pointer) { free(pointer); }

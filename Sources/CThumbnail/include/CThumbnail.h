#ifndef TWIN_CTHUMBNAIL_H
#define TWIN_CTHUMBNAIL_H

#include <stddef.h>
#include <stdint.h>

/// Makes a JPEG thumbnail of a JPEG or PNG image held in memory, at most `max_side` pixels on its
/// longer side, with libjpeg(-turbo) (decoding JPEG at 1/2, 1/4 or 1/8 scale in the DCT domain,
/// the cheap way down) and libpng's simplified API, then an area-average scale to the exact size.
/// Images with more than `max_pixels` pixels are refused before any pixel is decoded. The thumbnail
/// is turned or mirrored as EXIF `orientation` (1–8; any other value is 1) says the image is shown.
/// On success returns 0 and sets `*out` (free with `twin_thumbnail_free`) and `*out_length`;
/// otherwise returns a negative code and writes a message into `error` (NUL-terminated):
/// -1 not a JPEG or PNG, -2 corrupt or unsupported, -3 too large, -4 out of memory.
int twin_thumbnail(const uint8_t *data, size_t length, int max_side, int quality, uint64_t max_pixels, int orientation,
                   uint8_t **out, size_t *out_length, char *error, size_t error_capacity);

void twin_thumbnail_free(uint8_t *pointer);

#endif

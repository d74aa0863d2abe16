// thaw/data/png.hpp — PNG in and out through libspng (Debian's libspng-dev), which checks every
// CRC and the zlib stream, so a damaged file is refused instead of decoded into noise.
//
// Decoding gives what Pillow's `Image.open(f).convert('RGB')` gives, kept at one channel when the
// file is grey:
//   grey, grey+alpha       -> 1 channel (alpha dropped, as Pillow's LA->RGB does)
//   RGB, RGBA, palette     -> 3 channels (alpha dropped, palette looked up)
//   1/2/4-bit grey         -> scaled to 0..255 (1 -> 255, as Pillow's L;1/L;2/L;4 modes)
//   16-bit samples         -> their high byte, v >> 8. Pillow does the same for 16-bit RGB(A)
//                             and LA; for 16-bit grey it opens mode 'I' and convert('RGB') clips
//                             every value above 255 to white, which is why thaw scales instead.
//                             PNG stores samples scaled to the full 16-bit range (an sBIT chunk
//                             only records the original precision), so no window is needed.
#pragma once

#include <spng.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <thaw/data/image.hpp>
#include <thaw/io/atomic_file.hpp>
#include <thaw/io/tensor.hpp>

namespace thaw::data {

// Larger than any radiograph (Montgomery's are 4892 x 4020) yet small enough that a forged
// header cannot ask for more than ~1 GiB of RGBA pixels.
inline constexpr std::uint32_t max_png_side = 16384;

namespace detail {

struct SpngDeleter {
  void operator()(spng_ctx* ctx) const { spng_ctx_free(ctx); }
};
using Spng = std::unique_ptr<spng_ctx, SpngDeleter>;

inline void spng_check(int status, const std::string& source, const char* what) {
  if (status != 0) throw ImageError(source + ": not a readable PNG (" + what + ": " + spng_strerror(status) + ")");
}

}  // namespace detail

constexpr bool is_png(std::span<const std::uint8_t> bytes) {
  constexpr std::uint8_t signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (bytes.size() < 8) return false;
  for (int i = 0; i < 8; ++i)
    if (bytes[i] != signature[i]) return false;
  return true;
}

// `source` names the file in error messages.
inline Image decode_png(std::span<const std::uint8_t> bytes, const std::string& source) {
  detail::Spng ctx(spng_ctx_new(0));
  if (!ctx) throw ImageError(source + ": cannot allocate a PNG decoder");
  detail::spng_check(spng_set_image_limits(ctx.get(), max_png_side, max_png_side), source, "limits");
  detail::spng_check(spng_set_chunk_limits(ctx.get(), 1u << 24, 1u << 26), source, "limits");
  detail::spng_check(spng_set_png_buffer(ctx.get(), bytes.data(), bytes.size()), source, "buffer");
  spng_ihdr ihdr{};
  detail::spng_check(spng_get_ihdr(ctx.get(), &ihdr), source, "header");

  const bool grey = ihdr.color_type == SPNG_COLOR_TYPE_GRAYSCALE || ihdr.color_type == SPNG_COLOR_TYPE_GRAYSCALE_ALPHA;
  const bool wide = ihdr.bit_depth == 16;
  const int format = wide ? SPNG_FMT_RGBA16 : (ihdr.color_type == SPNG_COLOR_TYPE_GRAYSCALE ? SPNG_FMT_G8 : SPNG_FMT_RGBA8);
  std::size_t size = 0;
  detail::spng_check(spng_decoded_image_size(ctx.get(), format, &size), source, "size");
  std::vector<std::uint8_t> decoded(size);
  detail::spng_check(spng_decode_image(ctx.get(), decoded.data(), size, format, 0), source, "pixels");

  Image image = Image::blank(ihdr.width, ihdr.height, grey ? 1 : 3);
  if (format == SPNG_FMT_G8) {
    image.pixels = std::move(decoded);
    return image;
  }
  const std::size_t pixels = image.width * image.height;
  for (std::size_t p = 0; p < pixels; ++p)
    for (std::size_t c = 0; c < image.channels; ++c) {
      if (wide) {
        std::uint16_t v;
        std::memcpy(&v, decoded.data() + (p * 4 + c) * 2, 2);
        image.pixels[p * image.channels + c] = std::uint8_t(v >> 8);
      } else {
        image.pixels[p * image.channels + c] = decoded[p * 4 + c];
      }
    }
  return image;
}

// Encodes an 8-bit grey or RGB image; `text` becomes tEXt chunks (keyword -> Latin-1 text).
inline std::vector<std::uint8_t> encode_png(const Image& image, const std::map<std::string, std::string>& text = {}) {
  detail::Spng ctx(spng_ctx_new(SPNG_CTX_ENCODER));
  const std::string who = "thaw::data::encode_png";
  if (!ctx) throw ImageError(who + ": cannot allocate a PNG encoder");
  if (image.channels != 1 && image.channels != 3)
    throw ImageError(who + ": images have 1 or 3 channels, not " + std::to_string(image.channels));
  spng_set_option(ctx.get(), SPNG_ENCODE_TO_BUFFER, 1);
  spng_ihdr ihdr{};
  ihdr.width = std::uint32_t(image.width);
  ihdr.height = std::uint32_t(image.height);
  ihdr.bit_depth = 8;
  ihdr.color_type = image.channels == 1 ? SPNG_COLOR_TYPE_GRAYSCALE : SPNG_COLOR_TYPE_TRUECOLOR;
  detail::spng_check(spng_set_ihdr(ctx.get(), &ihdr), who, "header");
  std::vector<spng_text> chunks;
  for (const auto& [keyword, value] : text) {
    spng_text chunk{};
    if (keyword.empty() || keyword.size() >= sizeof chunk.keyword)
      throw ImageError(who + ": PNG text keywords have 1 to 79 characters: '" + keyword + "'");
    keyword.copy(chunk.keyword, keyword.size());
    chunk.type = SPNG_TEXT;
    chunk.length = value.size();
    chunk.text = const_cast<char*>(value.data());  // spng copies it
    chunks.push_back(chunk);
  }
  if (!chunks.empty())
    detail::spng_check(spng_set_text(ctx.get(), chunks.data(), std::uint32_t(chunks.size())), who, "text");
  detail::spng_check(spng_encode_image(ctx.get(), image.pixels.data(), image.pixels.size(), SPNG_FMT_PNG,
                                       SPNG_ENCODE_FINALIZE),
                     who, "encode");
  std::size_t length = 0;
  int status = 0;
  std::unique_ptr<void, decltype(&std::free)> buffer(spng_get_png_buffer(ctx.get(), &length, &status), &std::free);
  detail::spng_check(status, who, "buffer");
  const auto* begin = static_cast<const std::uint8_t*>(buffer.get());
  return {begin, begin + length};
}

// Written atomically: a reader sees no file or the whole file.
inline void write_png(const std::filesystem::path& path, const Image& image,
                      const std::map<std::string, std::string>& text = {}) {
  const std::vector<std::uint8_t> bytes = encode_png(image, text);
  io::write_atomically(path, [&](std::ostream& out) {
    out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  });
}

}  // namespace thaw::data

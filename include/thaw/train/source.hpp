// thaw/train/source.hpp — what Trainer::fit and predict_logits read labelled images from: any
// type with size(), label(i), image_floats() and read(ids, out). A Dataset in memory models it,
// and so does data::FileSource, which decodes (through the disk cache) only the images asked for,
// so a set need not fit in memory. A type that is not a source itself may name one through an
// ADL function image_source(x) (data::Loader does).
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>

namespace thaw::train {

// read(ids, out) writes the images ids[0..n) one after another into out[n * image_floats()]
// (normalised NCHW floats); it is called from a helper thread while the model trains, so it
// must not touch what the training loop uses. Same ids must give the same floats every time.
template <class S>
concept ImageSource = requires(const S& s, std::span<const std::size_t> ids, float* out, std::size_t i) {
  { s.size() } -> std::convertible_to<std::size_t>;
  { s.label(i) } -> std::convertible_to<float>;
  { s.image_floats() } -> std::convertible_to<std::size_t>;
  s.read(ids, out);
};

template <class T>
concept NamesImageSource = !ImageSource<T> && requires(const T& t) {
  { image_source(t) } -> ImageSource;
};

// The source itself (by reference), or the one it names (by value).
template <class T>
  requires ImageSource<T> || NamesImageSource<T>
decltype(auto) as_source(const T& t) {
  if constexpr (ImageSource<T>) return (t);
  else return image_source(t);
}

namespace detail {
inline std::uint64_t mix(std::uint64_t hash, std::uint64_t value) {  // FNV-1a over the 8 bytes
  for (int b = 0; b < 8; ++b) hash = (hash ^ ((value >> (8 * b)) & 0xff)) * 0x100000001b3ull;
  return hash;
}
}  // namespace detail

// What tells two sets apart for the frozen-prefix cache: the source's own identity() when it
// has one (data::FileSource: its files and preprocessing), else its size, image size and labels.
template <ImageSource S>
std::uint64_t source_identity(const S& s) {
  if constexpr (requires { { s.identity() } -> std::convertible_to<std::uint64_t>; }) {
    return s.identity();
  } else {
    std::uint64_t h = detail::mix(detail::mix(0xcbf29ce484222325ull, s.size()), s.image_floats());
    for (std::size_t i = 0; i < s.size(); ++i) h = detail::mix(h, s.label(i) != 0.0f);
    return h;
  }
}

// Throws unless every label is 0 or 1 and the images have the model's size; a source with its
// own check(name) (Dataset: every pixel finite) runs that too.
template <ImageSource S>
void check_source(const S& s, const std::string& name, std::size_t expected_floats) {
  if constexpr (requires { s.check(name); }) s.check(name);
  for (std::size_t i = 0; i < s.size(); ++i)
    if (const float l = s.label(i); l != 0.0f && l != 1.0f)
      throw std::invalid_argument("thaw::train: set '" + name + "': label " + std::to_string(i) + " is " +
                                  std::to_string(l) + "; labels must be 0 or 1");
  if (s.size() > 0 && s.image_floats() != expected_floats)
    throw std::invalid_argument("thaw::train: set '" + name + "' has images of " + std::to_string(s.image_floats()) +
                                " floats, but the model takes " + std::to_string(expected_floats) +
                                "; preprocess the images to the model's input size");
}

}  // namespace thaw::train

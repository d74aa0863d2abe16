// thaw/data/dicom.hpp — DICOM radiographs (Part 10 files, first frame) to 8-bit grey, through
// DCMTK (Debian's libdcmtk-dev), which parses the file and decompresses JPEG, JPEG-LS and RLE.
//
// The rule, after DICOM PS3.3 C.11 (modality LUT, VOI LUT, presentation), in this order:
//   1. stored value: BitsStored bits ending at HighBit, two's complement if PixelRepresentation=1
//   2. modality:     x = value * RescaleSlope + RescaleIntercept            (defaults 1 and 0)
//   3. VOI, the first that the file has:
//        a. the first Window Center/Width pair, with VOILUTFunction LINEAR (default),
//           LINEAR_EXACT or SIGMOID (C.11.2.1.2-3), onto [0, 255];
//        b. the first item of the VOI LUT Sequence, LUT value / (2^bits - 1) * 255;
//        c. otherwise min-max: the image's smallest x maps to 0, its largest to 255.
//   4. 8 bits:       round half up, clamp to [0, 255]
//   5. polarity:     MONOCHROME1 (low values white) becomes 255 - y, so bone is bright in
//                    every image thaw produces, as in MONOCHROME2 and in the public PNG sets.
// Not handled, each refused with a message: colour images, Modality LUT Sequences.
#pragma once

#if !THAW_WITH_DICOM
#error "thaw/data/dicom.hpp needs DCMTK: install libdcmtk-dev and configure thaw with -DTHAW_WITH_DICOM=ON"
#endif

#include <dcmtk/config/osconfig.h>  // first, as DCMTK requires
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcpixel.h>
#include <dcmtk/dcmdata/dcpixseq.h>
#include <dcmtk/dcmdata/dcpxitem.h>
#include <dcmtk/dcmdata/dcrledrg.h>
#include <dcmtk/dcmjpeg/djdecode.h>
#include <dcmtk/dcmjpls/djdecode.h>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include <thaw/data/image.hpp>

namespace thaw::data {

namespace detail {

struct DicomReader {
  DcmDataset& data;
  const std::string& source;

  [[noreturn]] void fail(const std::string& what) const { throw ImageError(source + ": " + what); }

  long integer(const DcmTagKey& tag, const char* name, bool required, long fallback = 0) const {
    Uint16 value = 0;
    if (data.findAndGetUint16(tag, value).good()) return value;
    if (required) fail(std::string("DICOM attribute ") + name + " is missing");
    return fallback;
  }
  bool number(const DcmTagKey& tag, double& value, unsigned long index = 0) const {
    Float64 v = 0;
    if (data.findAndGetFloat64(tag, v, index).bad()) return false;
    value = v;
    return true;
  }
  std::string text(const DcmTagKey& tag) const {
    OFString value;
    data.findAndGetOFString(tag, value);
    return value.c_str();
  }
};

// DCMTK 3.6.7's JPEG decoder first walks each fragment's markers to find the bit depth, and
// that walk never moves past a TEM marker (FF 01): a crafted file hangs it forever (found by
// thaw's fuzzer). This repeats the walk, bounded, and refuses such fragments beforehand.
inline bool jpeg_walk_terminates(const Uint8* data, std::size_t length) {
  const auto u16 = [&](std::size_t at) { return unsigned(data[at]) << 8 | data[at + 1]; };
  for (std::size_t offset = 0; offset + 4 < length;) {
    const unsigned marker = u16(offset);
    const bool frame = marker >= 0xffc0 && marker <= 0xffcf && marker != 0xffc4 && marker != 0xffc8 && marker != 0xffcc;
    if (frame) return true;  // the walk stops at the first start-of-frame
    if (marker == 0xff01) return false;
    if (marker == 0xffff) offset += 1;
    else if ((marker >= 0xffd0 && marker <= 0xffd9) || (data[offset] == 0xff && data[offset + 1] > 2 && data[offset + 1] <= 0xbf))
      offset += 2;
    else if (marker >= 0xffc4 && marker <= 0xfffe) offset += u16(offset + 2) + 2;
    else return true;  // an invalid marker ends the walk
  }
  return true;
}

inline bool pixel_fragments_are_safe(DcmDataset& data, E_TransferSyntax transfer) {
  DcmElement* element = nullptr;
  DcmPixelSequence* fragments = nullptr;
  if (data.findAndGetElement(DCM_PixelData, element).bad() || element == nullptr) return true;
  auto* pixels = dynamic_cast<DcmPixelData*>(element);
  if (pixels == nullptr || pixels->getEncapsulatedRepresentation(transfer, nullptr, fragments).bad() || fragments == nullptr)
    return true;
  for (unsigned long i = 1; i < fragments->card(); ++i) {  // item 0 is the offset table
    DcmPixelItem* item = nullptr;
    Uint8* bytes = nullptr;
    if (fragments->getItem(item, i).good() && item != nullptr && item->getUint8Array(bytes).good() && bytes != nullptr &&
        !jpeg_walk_terminates(bytes, item->getLength()))
      return false;
  }
  return true;
}

inline void register_dicom_codecs() {
  static std::once_flag once;
  std::call_once(once, [] {
    DJDecoderRegistration::registerCodecs();
    DJLSDecoderRegistration::registerCodecs();
    DcmRLEDecoderRegistration::registerCodecs();
  });
}

// The VOI stage (3 and 4 above): n modality values, x(i), to 8 bits.
template <class Modality>
std::vector<std::uint8_t> voi_to_8bit(std::size_t n, Modality&& x, const DicomReader& r) {
  std::vector<std::uint8_t> out(n);
  const auto store = [&](auto&& map) {
    for (std::size_t i = 0; i < n; ++i) out[i] = std::uint8_t(std::clamp(std::floor(map(x(i)) + 0.5), 0.0, 255.0));
  };
  double c = 0, w = 0;
  if (r.number(DCM_WindowCenter, c) && r.number(DCM_WindowWidth, w)) {
    const std::string function = r.text(DCM_VOILUTFunction);
    if (function.empty() || function == "LINEAR") {
      if (w < 1) r.fail("Window Width " + std::to_string(w) + " is below 1, which LINEAR does not allow");
      store([&](double v) {
        if (v <= c - 0.5 - (w - 1) / 2) return 0.0;
        if (v > c - 0.5 + (w - 1) / 2) return 255.0;
        return ((v - (c - 0.5)) / (w - 1) + 0.5) * 255.0;
      });
    } else if (function == "LINEAR_EXACT") {
      if (w <= 0) r.fail("Window Width " + std::to_string(w) + " must be positive");
      store([&](double v) {
        if (v <= c - w / 2) return 0.0;
        if (v > c + w / 2) return 255.0;
        return ((v - c) / w + 0.5) * 255.0;
      });
    } else if (function == "SIGMOID") {
      if (w <= 0) r.fail("Window Width " + std::to_string(w) + " must be positive");
      store([&](double v) { return 255.0 / (1 + std::exp(-4 * (v - c) / w)); });
    } else {
      r.fail("VOI LUT Function '" + function + "' is not one of LINEAR, LINEAR_EXACT, SIGMOID");
    }
    return out;
  }
  DcmItem* lut = nullptr;
  if (r.data.findAndGetSequenceItem(DCM_VOILUTSequence, lut, 0).good() && lut != nullptr) {
    const Uint16* descriptor = nullptr;
    const Uint16* entries = nullptr;
    unsigned long described = 0, count = 0;
    if (lut->findAndGetUint16Array(DCM_LUTDescriptor, descriptor, &described).bad() || described != 3 ||
        lut->findAndGetUint16Array(DCM_LUTData, entries, &count).bad())
      r.fail("the VOI LUT Sequence's LUT Descriptor or LUT Data is missing or malformed");
    const std::size_t size = descriptor[0] == 0 ? 65536 : descriptor[0];
    const double first = descriptor[1];  // read as unsigned; signed first values are rare in DX/CR
    const double top = std::ldexp(1.0, descriptor[2]) - 1;
    if (count < size || descriptor[2] < 1 || descriptor[2] > 16) r.fail("the VOI LUT's data does not match its descriptor");
    store([&](double v) {
      const double index = std::clamp(v - first, 0.0, double(size - 1));
      return entries[std::size_t(index)] / top * 255.0;
    });
    return out;
  }
  double low = x(0), high = low;
  for (std::size_t i = 1; i < n; ++i) {
    low = std::min(low, x(i));
    high = std::max(high, x(i));
  }
  const double range = high - low;
  store([&](double v) { return range > 0 ? (v - low) / range * 255.0 : 0.0; });
  return out;
}

}  // namespace detail

// Reads from a file: DCMTK then checks each element's length against the bytes left in the file
// before allocating (from a memory buffer it allocates first, so a 25 kB file could ask for 3 GB).
inline Image read_dicom(const std::filesystem::path& path) {
  detail::register_dicom_codecs();
  const std::string source = path.string();
  DcmFileFormat file;
  const OFCondition read = file.loadFile(path.c_str());
  if (read.bad()) throw ImageError(source + ": not a readable DICOM file (" + read.text() + "); is it truncated?");
  DcmDataset& data = *file.getDataset();
  const detail::DicomReader r{data, source};

  const DcmXfer transfer(data.getOriginalXfer());
  const E_TransferSyntax syntax = transfer.getXfer();
  const bool dcmjpeg = syntax == EXS_JPEGProcess1 || syntax == EXS_JPEGProcess2_4 || syntax == EXS_JPEGProcess6_8 ||
                       syntax == EXS_JPEGProcess10_12 || syntax == EXS_JPEGProcess14 || syntax == EXS_JPEGProcess14SV1;
  if (dcmjpeg && !detail::pixel_fragments_are_safe(data, syntax))
    r.fail("compressed pixel data with a JPEG marker sequence that DCMTK's decoder cannot get past (TEM, FF 01)");
  const std::size_t rows = std::size_t(r.integer(DCM_Rows, "Rows", true));
  const std::size_t columns = std::size_t(r.integer(DCM_Columns, "Columns", true));
  const long allocated = r.integer(DCM_BitsAllocated, "BitsAllocated", true);
  const long stored = r.integer(DCM_BitsStored, "BitsStored", false, allocated);
  const long high_bit = r.integer(DCM_HighBit, "HighBit", false, stored - 1);
  const bool is_signed = r.integer(DCM_PixelRepresentation, "PixelRepresentation", false) == 1;
  if ((allocated != 8 && allocated != 16) || stored < 1 || stored > allocated || high_bit < stored - 1 ||
      high_bit >= allocated)
    r.fail("unsupported bit layout (allocated " + std::to_string(allocated) + ", stored " + std::to_string(stored) +
           ", high bit " + std::to_string(high_bit) + ")");
  if (rows == 0 || columns == 0) r.fail("the image has no pixels");
  if (rows * columns > std::size_t(1) << 28)  // a radiograph has ~20 M; refuse before DCMTK allocates
    r.fail(std::to_string(rows) + " x " + std::to_string(columns) + " pixels is more than thaw reads (2^28)");
  if (transfer.isEncapsulated() && data.chooseRepresentation(EXS_LittleEndianExplicit, nullptr).bad())
    r.fail(std::string("pixel data compressed as ") + transfer.getXferName() + ", which DCMTK cannot decode here");
  const std::string photometric = r.text(DCM_PhotometricInterpretation);
  if (photometric != "MONOCHROME1" && photometric != "MONOCHROME2")
    r.fail("Photometric Interpretation '" + photometric + "': thaw reads grey radiographs (MONOCHROME1/2) only");
  if (r.integer(DCM_SamplesPerPixel, "SamplesPerPixel", false, 1) != 1) r.fail("more than one sample per pixel");
  DcmItem* modality_lut = nullptr;
  if (data.findAndGetSequenceItem(DCM_ModalityLUTSequence, modality_lut, 0).good())
    r.fail("a Modality LUT Sequence, which thaw does not apply; convert with Rescale Slope/Intercept");

  DcmElement* element = nullptr;
  if (data.findAndGetElement(DCM_PixelData, element).bad() || element == nullptr) r.fail("no Pixel Data");
  const std::uint8_t* raw = nullptr;
  Uint8* as_bytes = nullptr;
  Uint16* as_words = nullptr;
  if (element->getVR() == EVR_OW && element->getUint16Array(as_words).good()) raw = reinterpret_cast<std::uint8_t*>(as_words);
  else if (element->getUint8Array(as_bytes).good()) raw = as_bytes;
  const std::size_t pixels = rows * columns;
  const std::size_t bytes_per_sample = std::size_t(allocated / 8);
  if (raw == nullptr || element->getLength() < pixels * bytes_per_sample)
    r.fail("Pixel Data holds " + std::to_string(element->getLength()) + " bytes, fewer than " +
           std::to_string(rows) + " x " + std::to_string(columns) + " pixels need; is the file truncated?");

  double slope = 1, intercept = 0;
  r.number(DCM_RescaleSlope, slope);
  r.number(DCM_RescaleIntercept, intercept);
  const unsigned shift = unsigned(high_bit + 1 - stored);
  const std::uint32_t mask = (std::uint32_t(1) << stored) - 1;
  const auto modality = [&](std::size_t i) {
    std::uint32_t word = raw[i * bytes_per_sample];
    if (bytes_per_sample == 2) {
      std::uint16_t w;
      std::memcpy(&w, raw + i * 2, 2);  // DCMTK has put the words in host order
      word = w;
    }
    const std::uint32_t bits = (word >> shift) & mask;
    const double value = is_signed && (bits >> (stored - 1)) != 0 ? double(bits) - std::ldexp(1.0, int(stored)) : double(bits);
    return value * slope + intercept;
  };
  Image image = Image::blank(columns, rows, 1);
  image.pixels = detail::voi_to_8bit(pixels, modality, r);
  if (photometric == "MONOCHROME1")
    for (auto& p : image.pixels) p = std::uint8_t(255 - p);
  return image;
}

// A DICOM file held in memory goes through a private temporary file, for the check above.
inline Image decode_dicom(std::span<const std::uint8_t> bytes, const std::string& source) {
  namespace fs = std::filesystem;
  static std::atomic<unsigned long> counter{0};
  const fs::path temp = fs::temp_directory_path() /
                        ("thaw-dicom-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + ".dcm");
  {
    std::ofstream out(temp, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
    if (!out) throw ImageError(source + ": cannot write a temporary copy to '" + temp.string() + "'");
  }
  try {
    Image image = read_dicom(temp);
    fs::remove(temp);
    return image;
  } catch (const ImageError& e) {
    fs::remove(temp);
    std::string message = e.what();
    message.replace(0, temp.string().size(), source);  // name the caller's source, not the copy
    throw ImageError(message);
  }
}

}  // namespace thaw::data

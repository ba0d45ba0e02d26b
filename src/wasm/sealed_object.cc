#include "sealed_object.h"

#include <elf.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace wasmshim::wasm {
namespace {

constexpr char kSealMagic[8] = {'W', 'S', 'H', 'M', 'S', 'E', 'A', 'L'};
constexpr std::size_t kTrailerSize = sizeof(kSealMagic) + 2 * sizeof(std::uint64_t);

struct Trailer {
  char magic[sizeof(kSealMagic)];
  std::uint64_t payload_size;
  std::uint64_t checksum;
};
static_assert(sizeof(Trailer) == kTrailerSize);

Trailer trailer_for(const void* payload, std::size_t size) {
  Trailer trailer{};
  std::memcpy(trailer.magic, kSealMagic, sizeof(kSealMagic));
  trailer.payload_size = size;
  trailer.checksum = XXH3_64bits(payload, size);
  return trailer;
}

bool fits(std::uint64_t offset, std::uint64_t length, std::size_t size) {
  return offset <= size && length <= size - offset;
}

// A string literal naming what is wrong, or nullptr: no allocation.
const char* elf_problem(const unsigned char* bytes, std::size_t size) {
  Elf64_Ehdr header;
  if (size < sizeof header) {
    return "shorter than an ELF header";
  }
  std::memcpy(&header, bytes, sizeof header);
  if (std::memcmp(header.e_ident, ELFMAG, SELFMAG) != 0 || header.e_ident[EI_CLASS] != ELFCLASS64) {
    return "not a 64-bit ELF file";
  }
  if (!fits(header.e_phoff, std::uint64_t{header.e_phnum} * sizeof(Elf64_Phdr), size) ||
      !fits(header.e_shoff, std::uint64_t{header.e_shnum} * sizeof(Elf64_Shdr), size)) {
    return "its ELF tables lie past its end (cut short)";
  }
  for (unsigned i = 0; i < header.e_phnum; ++i) {
    Elf64_Phdr segment;
    std::memcpy(&segment, bytes + header.e_phoff + i * sizeof segment, sizeof segment);
    if (!fits(segment.p_offset, segment.p_filesz, size)) {
      return "a segment lies past its end (cut short)";
    }
  }
  for (unsigned i = 0; i < header.e_shnum; ++i) {
    Elf64_Shdr section;
    std::memcpy(&section, bytes + header.e_shoff + i * sizeof section, sizeof section);
    if (section.sh_type != SHT_NOBITS && !fits(section.sh_offset, section.sh_size, size)) {
      return "a section lies past its end (cut short)";
    }
  }
  return nullptr;
}

// A read-only mapping of a file's first `size` bytes.
class Mapping {
 public:
  Mapping(int fd, std::size_t size) : size_(size) {
    if (size_ > 0) {
      void* address = ::mmap(nullptr, size_, PROT_READ, MAP_SHARED | MAP_POPULATE, fd, 0);
      address_ = address == MAP_FAILED ? nullptr : address;
    }
  }
  ~Mapping() {
    if (address_ != nullptr) {
      ::munmap(address_, size_);
    }
  }
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  bool ok() const { return address_ != nullptr; }
  const unsigned char* bytes() const { return static_cast<const unsigned char*>(address_); }

 private:
  void* address_ = nullptr;
  std::size_t size_;
};

}  // namespace

std::uint64_t content_checksum(std::string_view bytes) {
  return XXH3_64bits(bytes.data(), bytes.size());
}

std::string elf_incompleteness(std::string_view payload) {
  const char* problem =
      elf_problem(reinterpret_cast<const unsigned char*>(payload.data()), payload.size());
  return problem == nullptr ? std::string() : std::string(problem);
}

std::string seal_trailer(std::string_view payload) {
  const Trailer trailer = trailer_for(payload.data(), payload.size());
  return {reinterpret_cast<const char*>(&trailer), sizeof trailer};
}

int seal_fd(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    return errno;
  }
  const auto size = static_cast<std::size_t>(st.st_size);
  Trailer trailer{};
  {
    Mapping payload(fd, size);
    if (!payload.ok()) {
      return size == 0 ? EBADMSG : errno;
    }
    if (elf_problem(payload.bytes(), size) != nullptr) {
      return EBADMSG;
    }
    trailer = trailer_for(payload.bytes(), size);
  }
  ssize_t written = 0;
  do {
    written = ::pwrite(fd, &trailer, sizeof trailer, static_cast<off_t>(size));
  } while (written < 0 && errno == EINTR);
  if (written != static_cast<ssize_t>(sizeof trailer)) {
    const int error = written < 0 ? errno : ENOSPC;
    (void)::ftruncate(fd, static_cast<off_t>(size));
    return error;
  }
  return ::fsync(fd) == 0 ? 0 : errno;
}

std::string seal_problem(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    return std::string("cannot stat it: ") + std::generic_category().message(errno);
  }
  const auto size = static_cast<std::size_t>(st.st_size);
  if (size < kTrailerSize) {
    return "it is too short to be sealed";
  }
  const std::size_t payload_size = size - kTrailerSize;
  Trailer trailer{};
  if (::pread(fd, &trailer, sizeof trailer, static_cast<off_t>(payload_size)) !=
      static_cast<ssize_t>(sizeof trailer)) {
    return "its seal cannot be read";
  }
  if (std::memcmp(trailer.magic, kSealMagic, sizeof(kSealMagic)) != 0) {
    return "it carries no seal (cut short, or not written whole)";
  }
  if (trailer.payload_size != payload_size) {
    return "its size is not the sealed one";
  }
  Mapping payload(fd, payload_size);
  if (!payload.ok()) {
    return std::string("cannot map it: ") + std::generic_category().message(errno);
  }
  if (XXH3_64bits(payload.bytes(), payload_size) != trailer.checksum) {
    return "its checksum does not match its seal (corrupted)";
  }
  return {};
}

}  // namespace wasmshim::wasm

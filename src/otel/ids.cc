#include "wasmshim/otel/ids.h"

#include <pthread.h>
#include <sys/random.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <chrono>
#include <cstring>

#include "hex.h"

namespace wasmshim::otel {
namespace {

// Bumped in every child after fork, so per-thread generators copied into
// the child notice and reseed instead of repeating the parent's ids.
std::atomic<std::uint64_t> fork_generation{0};

void on_fork_child() {
  fork_generation.fetch_add(1, std::memory_order_relaxed);
}

const bool fork_handler_registered = [] {
  pthread_atfork(nullptr, nullptr, on_fork_child);
  return true;
}();

// xoshiro256**: fast, and seeded from the kernel it is unpredictable enough
// for ids (they are not secrets, but must not collide).
class IdRandom {
 public:
  std::uint64_t next() {
    auto generation = fork_generation.load(std::memory_order_relaxed);
    if (!seeded_ || generation != generation_) {
      seed();
      generation_ = generation;
    }
    const std::uint64_t result = std::rotl(state_[1] * 5, 7) * 9;
    const std::uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = std::rotl(state_[3], 45);
    return result;
  }

 private:
  void seed() {
    std::size_t filled = 0;
    auto* out = reinterpret_cast<unsigned char*>(state_);
    while (filled < sizeof(state_)) {
      ssize_t n = getrandom(out + filled, sizeof(state_) - filled, 0);
      if (n <= 0) {
        break;
      }
      filled += static_cast<std::size_t>(n);
    }
    if (filled < sizeof(state_)) {
      // getrandom cannot fail on Linux >= 3.17 once the pool is ready; mix
      // the clock and the address of this object in as a last resort.
      auto now = static_cast<std::uint64_t>(
          std::chrono::high_resolution_clock::now().time_since_epoch().count());
      state_[0] ^= now;
      state_[1] ^= reinterpret_cast<std::uintptr_t>(this);
      state_[2] ^= now * 0x9e3779b97f4a7c15ULL;
      state_[3] ^= 0xda942042e4dd58b5ULL;
    }
    seeded_ = true;
  }

  std::uint64_t state_[4] = {};
  std::uint64_t generation_ = 0;
  bool seeded_ = false;
};

thread_local IdRandom id_random;

template <std::size_t N>
void fill_nonzero(std::array<std::uint8_t, N>& bytes) {
  do {
    for (std::size_t i = 0; i < N; i += 8) {
      std::uint64_t r = id_random.next();
      std::memcpy(bytes.data() + i, &r, std::min<std::size_t>(8, N - i));
    }
  } while (std::all_of(bytes.begin(), bytes.end(), [](std::uint8_t b) { return b == 0; }));
}

bool is_lcalpha_or_digit(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

bool valid_key_part(std::string_view part, bool first_may_be_digit) {
  if (part.empty() || !(is_lcalpha_or_digit(part[0]))) {
    return false;
  }
  if (!first_may_be_digit && !(part[0] >= 'a' && part[0] <= 'z')) {
    return false;
  }
  return std::all_of(part.begin() + 1, part.end(), [](char c) {
    return is_lcalpha_or_digit(c) || c == '_' || c == '-' || c == '*' || c == '/';
  });
}

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

}  // namespace

template <std::size_t N>
bool Id<N>::valid() const {
  return std::any_of(bytes.begin(), bytes.end(), [](std::uint8_t b) { return b != 0; });
}

template <std::size_t N>
std::string Id<N>::hex() const {
  std::string out;
  out.reserve(2 * N);
  for (const std::uint8_t byte : bytes) {
    detail::append_hex_byte(out, byte);
  }
  return out;
}

template <std::size_t N>
std::optional<Id<N>> Id<N>::from_hex(std::string_view text) {
  if (text.size() != 2 * N) {
    return std::nullopt;
  }
  Id id;
  for (std::size_t i = 0; i < N; ++i) {
    int hi = detail::hex_digit(text[2 * i]);
    int lo = detail::hex_digit(text[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      return std::nullopt;
    }
    id.bytes[i] = static_cast<std::uint8_t>(hi << 4 | lo);
  }
  return id;
}

template <std::size_t N>
std::optional<Id<N>> Id<N>::from_bytes(std::string_view raw) {
  if (raw.size() != N) {
    return std::nullopt;
  }
  Id id;
  std::memcpy(id.bytes.data(), raw.data(), N);
  return id;
}

template struct Id<16>;
template struct Id<8>;

TraceId random_trace_id() {
  (void)fork_handler_registered;
  TraceId id;
  fill_nonzero(id.bytes);
  return id;
}

SpanId random_span_id() {
  SpanId id;
  fill_nonzero(id.bytes);
  return id;
}

// key = simple-key / multi-tenant-key; simple-key = lcalpha 0*255(...);
// multi-tenant-key = tenant-id "@" system-id (241 and 14 characters at most).
bool TraceState::valid_key(std::string_view key) {
  if (key.empty() || key.size() > 256) {
    return false;
  }
  auto at = key.find('@');
  if (at == std::string_view::npos) {
    return valid_key_part(key, false);
  }
  auto tenant = key.substr(0, at);
  auto system = key.substr(at + 1);
  return tenant.size() <= 241 && system.size() <= 14 && valid_key_part(tenant, true) &&
         valid_key_part(system, false);
}

// value = 0*255(chr) nblk-chr; chr = %x20 / nblk-chr;
// nblk-chr = %x21-2B / %x2D-3C / %x3E-7E (printable, no ',' or '=').
bool TraceState::valid_value(std::string_view value) {
  if (value.empty() || value.size() > 256 || value.back() == ' ') {
    return false;
  }
  return std::all_of(value.begin(), value.end(),
                     [](char c) { return c >= 0x20 && c <= 0x7e && c != ',' && c != '='; });
}

std::optional<TraceState> TraceState::parse(std::string_view header) {
  TraceState state;
  while (true) {
    auto comma = header.find(',');
    auto member = trim_ows(header.substr(0, comma));
    if (!member.empty()) {
      auto eq = member.find('=');
      if (eq == std::string_view::npos) {
        return std::nullopt;
      }
      auto key = member.substr(0, eq);
      auto value = member.substr(eq + 1);
      if (!valid_key(key) || !valid_value(value) || state.get(key)) {
        return std::nullopt;
      }
      if (state.entries_.size() == kMaxEntries) {
        return std::nullopt;
      }
      state.entries_.emplace_back(std::string(key), std::string(value));
    }
    if (comma == std::string_view::npos) {
      break;
    }
    header.remove_prefix(comma + 1);
  }
  return state;
}

std::string TraceState::serialize() const {
  std::string out;
  for (const auto& [key, value] : entries_) {
    if (!out.empty()) {
      out += ',';
    }
    out += key;
    out += '=';
    out += value;
  }
  return out;
}

std::optional<std::string> TraceState::get(std::string_view key) const {
  for (const auto& [k, v] : entries_) {
    if (k == key) {
      return v;
    }
  }
  return std::nullopt;
}

bool TraceState::set(std::string_view key, std::string_view value) {
  if (!valid_key(key) || !valid_value(value)) {
    return false;
  }
  erase(key);
  if (entries_.size() == kMaxEntries) {
    entries_.pop_back();
  }
  entries_.insert(entries_.begin(), {std::string(key), std::string(value)});
  return true;
}

void TraceState::erase(std::string_view key) {
  std::erase_if(entries_, [&](const auto& entry) { return entry.first == key; });
}

}  // namespace wasmshim::otel

// Private: preview 1 rights, the capability bits each descriptor carries.
// A descriptor holds base rights (what may be done with it) and inheriting
// rights (the most a descriptor opened through it may hold). The sets given
// to preopens, stdio and newly opened descriptors follow wasmtime.
#pragma once

#include <cstdint>

namespace wasmshim::wasm::wasi {

using Rights = std::uint64_t;

namespace right {
inline constexpr Rights kFdDatasync = Rights{1} << 0;
inline constexpr Rights kFdRead = Rights{1} << 1;
inline constexpr Rights kFdSeek = Rights{1} << 2;
inline constexpr Rights kFdFdstatSetFlags = Rights{1} << 3;
inline constexpr Rights kFdSync = Rights{1} << 4;
inline constexpr Rights kFdTell = Rights{1} << 5;
inline constexpr Rights kFdWrite = Rights{1} << 6;
inline constexpr Rights kFdAdvise = Rights{1} << 7;
inline constexpr Rights kFdAllocate = Rights{1} << 8;
inline constexpr Rights kPathCreateDirectory = Rights{1} << 9;
inline constexpr Rights kPathCreateFile = Rights{1} << 10;
inline constexpr Rights kPathLinkSource = Rights{1} << 11;
inline constexpr Rights kPathLinkTarget = Rights{1} << 12;
inline constexpr Rights kPathOpen = Rights{1} << 13;
inline constexpr Rights kFdReaddir = Rights{1} << 14;
inline constexpr Rights kPathReadlink = Rights{1} << 15;
inline constexpr Rights kPathRenameSource = Rights{1} << 16;
inline constexpr Rights kPathRenameTarget = Rights{1} << 17;
inline constexpr Rights kPathFilestatGet = Rights{1} << 18;
inline constexpr Rights kPathFilestatSetSize = Rights{1} << 19;
inline constexpr Rights kPathFilestatSetTimes = Rights{1} << 20;
inline constexpr Rights kFdFilestatGet = Rights{1} << 21;
inline constexpr Rights kFdFilestatSetSize = Rights{1} << 22;
inline constexpr Rights kFdFilestatSetTimes = Rights{1} << 23;
inline constexpr Rights kPathSymlink = Rights{1} << 24;
inline constexpr Rights kPathRemoveDirectory = Rights{1} << 25;
inline constexpr Rights kPathUnlinkFile = Rights{1} << 26;
inline constexpr Rights kPollFdReadwrite = Rights{1} << 27;
inline constexpr Rights kSockShutdown = Rights{1} << 28;
inline constexpr Rights kSockAccept = Rights{1} << 29;
}  // namespace right

// What a preopened directory may do itself: the set wasmtime reports, which
// userlands (wasi-libc, Rust's std) expect at least.
inline constexpr Rights kDirectoryBaseRights =
    right::kPathCreateDirectory | right::kPathCreateFile | right::kPathLinkSource |
    right::kPathLinkTarget | right::kPathOpen | right::kFdReaddir | right::kPathReadlink |
    right::kPathRenameSource | right::kPathRenameTarget | right::kPathSymlink |
    right::kPathRemoveDirectory | right::kPathUnlinkFile | right::kPathFilestatGet |
    right::kPathFilestatSetTimes | right::kFdFilestatGet | right::kFdFilestatSetTimes;

// What an open regular file may be given.
inline constexpr Rights kFileRights = right::kFdDatasync | right::kFdRead | right::kFdSeek |
                                      right::kFdFdstatSetFlags | right::kFdSync | right::kFdTell |
                                      right::kFdWrite | right::kFdAdvise | right::kFdAllocate |
                                      right::kFdFilestatGet | right::kFdFilestatSetSize |
                                      right::kFdFilestatSetTimes | right::kPollFdReadwrite;

// What a preopen hands down: its own rights and every file right.
inline constexpr Rights kDirectoryInheritingRights = kDirectoryBaseRights | kFileRights;

// Rights that make no sense on a directory: it is never read, written,
// seeked, sized or allocated as a file is.
inline constexpr Rights kNotForDirectories = right::kFdRead | right::kFdWrite | right::kFdSeek |
                                             right::kFdTell | right::kFdAllocate |
                                             right::kFdFilestatSetSize;

// A socket the host gave (as stdio or accepted from one).
inline constexpr Rights kSocketRights = right::kFdRead | right::kFdWrite |
                                        right::kFdFdstatSetFlags | right::kFdFilestatGet |
                                        right::kPollFdReadwrite | right::kSockShutdown;

}  // namespace wasmshim::wasm::wasi

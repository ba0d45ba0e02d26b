// The messages between the daemon and its zygote: one SOCK_SEQPACKET
// datagram each, with descriptors passed alongside (zygote.cc; here for its
// tests).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace wasmshim::container::detail {

inline constexpr std::size_t kZygoteMaxMessage = std::size_t{256} * 1024;
inline constexpr std::size_t kZygoteMaxFds = 64;

bool send_message(int socket, const std::string& bytes, const std::vector<int>& fds);

// 1: a message (its fds close-on-exec); 0: the peer has gone; -1: an error,
// or a message cut short or over kZygoteMaxMessage (its fds closed).
int receive_message(int socket, std::string& bytes, std::vector<int>& fds);

}  // namespace wasmshim::container::detail

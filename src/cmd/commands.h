// The wasmshim subcommands that live outside the main file.
#pragma once

namespace wasmshim::cmd {

// wasmshim otlp-receiver [--http ADDR] [--grpc ADDR] [--jsonl FILE] [--quiet-ms N]
int otlp_receiver_command(int argc, char** argv);
// wasmshim image -o OUT.tar --name REF [--path /IN/IMAGE.wasm] app.wasm
int image_command(int argc, char** argv);

}  // namespace wasmshim::cmd

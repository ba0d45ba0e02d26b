# Debian packages of what cmake/Install.cmake installs, one per component:
#
#   cd build && cpack -G DEB
#   -> wasmshim_<version>_<arch>.deb      the shim and the CLI (runtime)
#   -> wasmshim-dev_<version>_<arch>.deb  headers, static libraries, CMake package (dev)
#
# Installed under /usr: containerd finds containerd-shim-wasmshim-v1 on its
# PATH. The binaries' library dependencies come from dpkg-shlibdeps (package
# dpkg-dev, and `file`); what they use without linking is named here.
set(WASMSHIM_PACKAGE_MAINTAINER "wasmshim maintainers <maintainers@wasmshim.invalid>" CACHE STRING
  "The Maintainer field of the Debian packages cpack makes")

set(CPACK_PACKAGE_NAME wasmshim)
set(CPACK_PACKAGE_VENDOR wasmshim)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
# No CPACK_PACKAGE_DESCRIPTION_SUMMARY: CPackDeb would put it before each
# component's description, whose first line is that package's summary.
set(CPACK_PACKAGE_CONTACT "${WASMSHIM_PACKAGE_MAINTAINER}")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)

set(CPACK_GENERATOR DEB)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL runtime dev)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${WASMSHIM_PACKAGE_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)

# runtime: the shim (io.containerd.wasmshim.v1) and the wasmshim CLI.
set(CPACK_DEBIAN_RUNTIME_PACKAGE_NAME wasmshim)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SHLIBDEPS ON)
# containerd runs the shim; the aot tier runs a C compiler (WASMSHIM_CC, else
# clang-22, else cc); OTLP over HTTPS opens libcurl at run time.
set(CPACK_DEBIAN_RUNTIME_PACKAGE_RECOMMENDS "containerd, clang-22 | gcc, libcurl4")
set(CPACK_COMPONENT_RUNTIME_DESCRIPTION
  "containerd shim running WebAssembly (WASI preview 1) workloads, traced with OpenTelemetry
containerd-shim-wasmshim-v1 is the containerd runtime io.containerd.wasmshim.v1: it runs
WebAssembly modules (and native pause and sidecar programs) as containers, with
OpenTelemetry tracing configured by the OTEL_* environment variables. The wasmshim
command runs, compiles and packages modules and receives OTLP traces.")

# dev: what another shim is built on; find_package(wasmshim) needs the
# development packages of everything the static libraries link.
set(CPACK_DEBIAN_DEV_PACKAGE_NAME wasmshim-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS
  "libprotobuf-dev, libgrpc++-dev, protobuf-compiler-grpc, nlohmann-json3-dev, zlib1g-dev, libssl-dev, wabt, libtcc-dev, libseccomp-dev, libcpp-httplib-dev, pkg-config")
set(CPACK_COMPONENT_DEV_DESCRIPTION
  "wasmshim libraries for writing containerd shims in C++
Headers, static libraries and the CMake package (find_package(wasmshim)) of the
containerd shim v2 framework (shim_main, Instance), the OpenTelemetry tracing SDK
(OtlpConfig, OTLP exporters), the WebAssembly engine and the layers below them.")

include(CPack)

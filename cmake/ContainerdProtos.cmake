# C++ from Debian's copies of containerd's own .proto files
# (golang-github-containerd-containerd-dev), prepared by
# src/shim/proto/containerd_protos.cmake (which says what it changes and why).
#
#   wasmshim_containerd_protos(<target> FILES <path>... [GRPC]
#                              [DEPENDS_ON <target made by this function>...])
#
# FILES are paths under CONTAINERD_PROTO_SOURCE_ROOT, as the files import
# each other. GRPC also generates the services' gRPC stubs. DEPENDS_ON names
# libraries made here whose files these import: they are linked, and their
# prepared files are on the import path (never generated twice, which would
# register one file twice in protobuf's pool).
set(CONTAINERD_PROTO_SOURCE_ROOT /usr/share/gocode/src CACHE PATH
  "Where golang-github-containerd-containerd-dev puts containerd's sources")
set(WASMSHIM_CONTAINERD_PROTO_SCRIPT ${CMAKE_CURRENT_LIST_DIR}/../src/shim/proto/containerd_protos.cmake)

function(wasmshim_containerd_protos target)
  cmake_parse_arguments(arg "GRPC" "" "FILES;DEPENDS_ON" ${ARGN})
  set(prepared ${CMAKE_CURRENT_BINARY_DIR}/${target}/src)
  set(gen ${CMAKE_CURRENT_BINARY_DIR}/${target}/gen)
  set(prepared_files)
  set(generated)
  foreach(proto ${arg_FILES})
    if(NOT EXISTS ${CONTAINERD_PROTO_SOURCE_ROOT}/${proto})
      message(FATAL_ERROR "${proto} is missing: install golang-github-containerd-containerd-dev (scripts/setup.sh)")
    endif()
    list(APPEND prepared_files ${prepared}/${proto})
    string(REGEX REPLACE "\\.proto$" "" base ${proto})
    list(APPEND generated ${gen}/${base}.pb.cc ${gen}/${base}.pb.h)
    if(arg_GRPC)
      list(APPEND generated ${gen}/${base}.grpc.pb.cc ${gen}/${base}.grpc.pb.h)
    endif()
    get_filename_component(dir ${prepared}/${proto} DIRECTORY)
    file(MAKE_DIRECTORY ${dir})
  endforeach()
  file(MAKE_DIRECTORY ${gen})

  set(import_args -I ${prepared})
  foreach(dependency ${arg_DEPENDS_ON})
    get_target_property(dependency_dir ${dependency} WASMSHIM_PREPARED_PROTOS)
    list(APPEND import_args -I ${dependency_dir})
  endforeach()
  set(grpc_args)
  if(arg_GRPC)
    set(grpc_args --grpc_out=${gen} --plugin=protoc-gen-grpc=$<TARGET_FILE:gRPC::grpc_cpp_plugin>)
  endif()

  list(JOIN arg_FILES "\\;" files_arg)
  add_custom_command(
    OUTPUT ${prepared_files}
    COMMAND ${CMAKE_COMMAND} -DSOURCE_ROOT=${CONTAINERD_PROTO_SOURCE_ROOT} -DDEST_ROOT=${prepared}
            "-DFILES=${files_arg}" -P ${WASMSHIM_CONTAINERD_PROTO_SCRIPT}
    DEPENDS ${WASMSHIM_CONTAINERD_PROTO_SCRIPT}
    COMMENT "Preparing containerd's .proto files for ${target}")
  add_custom_command(
    OUTPUT ${generated}
    COMMAND protobuf::protoc --cpp_out=${gen} ${grpc_args} ${import_args}
            -I ${Protobuf_INCLUDE_DIRS} ${arg_FILES}
    DEPENDS ${prepared_files} protobuf::protoc ${arg_DEPENDS_ON}
    WORKING_DIRECTORY ${prepared}
    COMMENT "Generating C++ for ${target}")

  add_library(${target} STATIC ${generated})
  target_include_directories(${target} SYSTEM PUBLIC ${gen})
  target_link_libraries(${target} PUBLIC protobuf::libprotobuf ${arg_DEPENDS_ON})
  if(arg_GRPC)
    target_link_libraries(${target} PUBLIC gRPC::grpc++)
  endif()
  set_target_properties(${target} PROPERTIES POSITION_INDEPENDENT_CODE ON
                                             WASMSHIM_PREPARED_PROTOS ${prepared})
endfunction()

# The unit tests: one gtest binary per layer, its cases registered with
# ctest under the label `unit`.
#
# WASMSHIM_UNIT_TESTS=OFF leaves the binaries out of the default build and
# their cases out of ctest, for a build whose unit tests run elsewhere
# (scripts/test.sh runs them under ASan+UBSan and TSan, not a third time).
# The targets stay defined: compile_commands.json still lists their sources
# for clang-tidy, and `--target unit_tests` still builds them.
option(WASMSHIM_UNIT_TESTS "Build the unit tests by default and register them with ctest" ON)

# Every unit test binary, whether or not the default build has it: the
# target the sanitizer stages build.
add_custom_target(unit_tests)

function(wasmshim_unit_test target)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "DISCOVERY_TIMEOUT;TIMEOUT" "")
  add_dependencies(unit_tests ${target})
  if(WASMSHIM_UNIT_TESTS)
    gtest_discover_tests(${target} DISCOVERY_TIMEOUT ${arg_DISCOVERY_TIMEOUT}
      PROPERTIES TIMEOUT ${arg_TIMEOUT} LABELS unit)
  else()
    set_target_properties(${target} PROPERTIES EXCLUDE_FROM_ALL ON)
  endif()
endfunction()

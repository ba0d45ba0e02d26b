# Builds the Go ttrpc peer offline: GOPATH mode over Debian's /usr/share/gocode.
if(NOT GO_EXECUTABLE)
  message(FATAL_ERROR "go not found: install golang-go and golang-github-containerd-ttrpc-dev (scripts/setup.sh)")
endif()
if(NOT EXISTS /usr/share/gocode/src/github.com/containerd/ttrpc)
  message(FATAL_ERROR "Go ttrpc sources missing: install golang-github-containerd-ttrpc-dev (scripts/setup.sh)")
endif()
execute_process(
  COMMAND ${CMAKE_COMMAND} -E env GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE=${GO_CACHE}
          GOFLAGS= GOPROXY=off ${GO_EXECUTABLE} build -o ${OUTPUT} .
  WORKING_DIRECTORY ${SOURCE_DIR}
  RESULT_VARIABLE result)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "go build of the ttrpc peer failed (${result})")
endif()

# Copies containerd's task API .proto files from Debian's
# golang-github-containerd-containerd-dev and makes them compile with protoc's
# C++ generator: they carry gogoproto options and `import weak`, which
# protoc 3.21 aborts on. Dropping those options changes nothing on the wire
# (they only shape the Go code); field numbers and names stay as they are.
#   -DSOURCE_ROOT=/usr/share/gocode/src -DDEST_ROOT=<dir> -DFILES=a.proto;b.proto
foreach(file ${FILES})
  file(READ "${SOURCE_ROOT}/${file}" text)
  # Imports of gogo.proto and fieldpath.proto exist only for options.
  string(REGEX REPLACE "import (weak )?\"gogoproto/gogo.proto\";\n" "" text "${text}")
  string(REGEX REPLACE "import weak \"[^\"]*/fieldpath.proto\";\n" "" text "${text}")
  string(REPLACE "import weak " "import " text "${text}")
  # File and message options of gogoproto and containerd's plugin.
  string(REGEX REPLACE "option \\((gogoproto|containerd\\.plugin)\\.[a-z_]+\\) = [^;]*;\n" "" text "${text}")
  # Field options: every [(gogoproto.x) = y, ...] list.
  string(REGEX REPLACE " *\\[\\(gogoproto[^]]*\\]" "" text "${text}")
  # The lite runtime: the full one parses and indexes every linked file's
  # descriptor at program start (most of what `shim start` and `delete`
  # execute before main), and nothing here reads them: the messages only go
  # on the wire.
  string(REGEX REPLACE "(\npackage [^;]*;\n)" "\\1\noption optimize_for = LITE_RUNTIME;\n" text "${text}")
  file(WRITE "${DEST_ROOT}/${file}.tmp" "${text}")
  file(COPY_FILE "${DEST_ROOT}/${file}.tmp" "${DEST_ROOT}/${file}" ONLY_IF_DIFFERENT)
  file(REMOVE "${DEST_ROOT}/${file}.tmp")
endforeach()

# Renders one scdoc man page source into roff (and a gzip'd copy for
# installation, as Debian ships man pages). Run as
#   cmake -DSCDOC=... -DGZIP=... -DVERSION=... -DSRC=x.scd -DDST=x.1 -P render_man.cmake
# The source's @VERSION@ is replaced by the project version, so the page footer
# and `--version` come from the same project(VERSION).
cmake_minimum_required(VERSION 3.25)

foreach(var SCDOC GZIP VERSION SRC DST)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "render_man.cmake: ${var} is not set")
  endif()
endforeach()

file(READ "${SRC}" source)
string(REPLACE "@VERSION@" "${VERSION}" source "${source}")
file(WRITE "${DST}.scd" "${source}")

execute_process(COMMAND "${SCDOC}" INPUT_FILE "${DST}.scd" OUTPUT_FILE "${DST}"
  ERROR_VARIABLE scdoc_error RESULT_VARIABLE scdoc_rc)
if(NOT scdoc_rc EQUAL 0)
  file(REMOVE "${DST}")
  message(FATAL_ERROR "scdoc failed on ${SRC}: ${scdoc_error}")
endif()

# -n: no name or timestamp in the header, so the .gz is reproducible.
execute_process(COMMAND "${GZIP}" -9nc "${DST}" OUTPUT_FILE "${DST}.gz" RESULT_VARIABLE gzip_rc)
if(NOT gzip_rc EQUAL 0)
  message(FATAL_ERROR "gzip failed on ${DST}")
endif()

# net.tcptune.Manager1.xml is the source of truth of the D-Bus interface: the
# adaptor (daemon) and proxy (CLI, tests) headers are generated from it into the
# build tree, never checked in. Targets link tcptune_dbus_interface to get the
# generated headers (as system headers: generated code is not held to our
# warning flags) and sdbus-c++.
set(TCPTUNE_DBUS_XML ${CMAKE_CURRENT_SOURCE_DIR}/net.tcptune.Manager1.xml)
set(TCPTUNE_DBUS_GENERATED_DIR ${CMAKE_BINARY_DIR}/generated/dbus)
set(TCPTUNE_DBUS_ADAPTOR ${TCPTUNE_DBUS_GENERATED_DIR}/net.tcptune.Manager1.adaptor.h)
set(TCPTUNE_DBUS_PROXY ${TCPTUNE_DBUS_GENERATED_DIR}/net.tcptune.Manager1.proxy.h)
add_custom_command(
  OUTPUT ${TCPTUNE_DBUS_ADAPTOR} ${TCPTUNE_DBUS_PROXY}
  COMMAND ${CMAKE_COMMAND} -E make_directory ${TCPTUNE_DBUS_GENERATED_DIR}
  COMMAND SDBusCpp::sdbus-c++-xml2cpp ${TCPTUNE_DBUS_XML}
    --adaptor=${TCPTUNE_DBUS_ADAPTOR} --proxy=${TCPTUNE_DBUS_PROXY}
  DEPENDS ${TCPTUNE_DBUS_XML}
  COMMENT "Generating D-Bus adaptor and proxy from net.tcptune.Manager1.xml"
  VERBATIM)
add_custom_target(tcptune_dbus_generated DEPENDS ${TCPTUNE_DBUS_ADAPTOR} ${TCPTUNE_DBUS_PROXY})
add_library(tcptune_dbus_interface INTERFACE)
target_include_directories(tcptune_dbus_interface SYSTEM INTERFACE ${TCPTUNE_DBUS_GENERATED_DIR})
target_link_libraries(tcptune_dbus_interface INTERFACE SDBusCpp::sdbus-c++)
add_dependencies(tcptune_dbus_interface tcptune_dbus_generated)
# The D-Bus policy and the interface description ship with the daemon.
install(FILES ${TCPTUNE_DBUS_XML} DESTINATION ${CMAKE_INSTALL_DATADIR}/dbus-1/interfaces)

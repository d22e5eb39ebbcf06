# Man pages: one scdoc source per page, kept next to the code it documents (tools/qkey/qkey.1.scd,
# base/qkey.conf.5.scd, ...). scdoc (Debian package `scdoc`, a few kB) renders them into
# ${CMAKE_BINARY_DIR}/man/; they are installed gzipped (-9n: reproducible) into share/man/manN.
# The test suite checks that every subcommand and option `--help` names is in the page, and that
# qkey.conf(5) names every key of the configuration schema (test/integration/tools/man_pages.sh).
find_program(SCDOC scdoc)
find_program(GZIP gzip)
set(QKEY_MANDIR ${CMAKE_BINARY_DIR}/man)
if(NOT SCDOC)
  message(STATUS "scdoc not found: man pages are not built (apt-get install scdoc)")
endif()
add_custom_target(qkey-manpages ALL)

# qkey_add_manpage(SOURCE COMPONENT): SOURCE is NAME.N.scd.
function(qkey_add_manpage src component)
  if(NOT SCDOC OR NOT GZIP)
    return()
  endif()
  get_filename_component(page ${src} NAME)
  string(REGEX REPLACE "\\.scd$" "" page ${page})
  string(REGEX REPLACE "^.*\\.([1-8])$" "\\1" section ${page})
  add_custom_command(
    OUTPUT ${QKEY_MANDIR}/${page} ${QKEY_MANDIR}/${page}.gz
    COMMAND ${CMAKE_COMMAND} -E make_directory ${QKEY_MANDIR}
    COMMAND ${SCDOC} < ${src} > ${QKEY_MANDIR}/${page}
    COMMAND ${GZIP} -9n -c ${QKEY_MANDIR}/${page} > ${QKEY_MANDIR}/${page}.gz
    DEPENDS ${src}
    COMMENT "scdoc ${page}"
    VERBATIM)
  add_custom_target(man-${page} DEPENDS ${QKEY_MANDIR}/${page}.gz)
  add_dependencies(qkey-manpages man-${page})
  install(FILES ${QKEY_MANDIR}/${page}.gz DESTINATION share/man/man${section} COMPONENT ${component})
endfunction()

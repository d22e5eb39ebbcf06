# Debian packages with CPack (`cpack -G DEB` in a tree configured with -DCMAKE_INSTALL_PREFIX=/usr,
# which turns on QKEY_SYSTEM_LAYOUT; scripts/packages.sh does all of it). One package per
# component, split the way Debian splits such software:
#   qkey-provider   qkey.so in OpenSSL's modules directory (openssl version -m)
#   qkey-pkcs11     libqkey-pkcs11.so in the multiarch pkcs11/ directory + its p11-kit .module
#   qkey-tools      qkey, qkey-inject, qkeyd, their man pages, qkey.conf(5), /etc/qkey/qkey.conf,
#                   qkeyd's systemd units
#   qkey-kme-sim    the ETSI GS QKD 014 KME simulator
#   libqkey-dev     headers, libqkey.a, qkey.pc
# Run-time dependencies come from the binaries (dpkg-shlibdeps), never from a hand-written list;
# only the links between these packages are written here.
set(QKEY_DEB_COMPONENTS provider pkcs11 tools kmesim dev)
set(_deb_names qkey-provider qkey-pkcs11 qkey-tools qkey-kme-sim libqkey-dev)
set(_deb_dir ${PROJECT_SOURCE_DIR}/packaging/debian)

if(QKEY_SYSTEM_LAYOUT)
  # The example config, a conffile of qkey-tools (kept across upgrades, removed on purge).
  install(FILES ${_deb_dir}/qkey.conf DESTINATION /etc/qkey COMPONENT tools)
  # qkeyd's systemd units (docs/agent.md), in the release's unit directory; not enabled by the
  # package: the agent needs /etc/qkey/qkeyd.conf first (`systemctl enable --now qkeyd.socket`).
  # systemd.pc names it where installed; otherwise Debian 13 (merged /usr: lintian's
  # aliased-location) wants /usr/lib/systemd/system and Debian 12 /lib/systemd/system.
  pkg_get_variable(_unitdir systemd systemdsystemunitdir)
  if(NOT _unitdir)
    set(_unitdir /lib/systemd/system)
    if(EXISTS /etc/debian_version)
      file(READ /etc/debian_version _debver)
      if(_debver MATCHES "^([0-9]+)" AND CMAKE_MATCH_1 GREATER_EQUAL 13)
        set(_unitdir /usr/lib/systemd/system)
      elseif(_debver MATCHES "^(trixie|forky|sid)")
        set(_unitdir /usr/lib/systemd/system)
      endif()
    endif()
  endif()
  install(FILES ${PROJECT_SOURCE_DIR}/packaging/systemd/qkeyd.service
                ${PROJECT_SOURCE_DIR}/packaging/systemd/qkeyd.socket
          DESTINATION ${_unitdir} COMPONENT tools)
  # Every package carries its copyright and changelog (Debian policy 12.5, 12.7).
  set(_gz ${CMAKE_BINARY_DIR}/packaging/changelog.gz)
  add_custom_command(OUTPUT ${_gz}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/packaging
    COMMAND gzip -9n -c ${_deb_dir}/changelog > ${_gz}
    DEPENDS ${_deb_dir}/changelog VERBATIM)
  add_custom_target(qkey-deb-changelog ALL DEPENDS ${_gz})
  foreach(comp name IN ZIP_LISTS QKEY_DEB_COMPONENTS _deb_names)
    install(FILES ${_deb_dir}/copyright ${_gz} DESTINATION share/doc/${name} COMPONENT ${comp})
  endforeach()
endif()

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME qkey)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "qkey developers <maintainers@users.noreply.r-seed-57ff960d.example>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "quantum keys and quantum randomness for OpenSSL 3 and PKCS#11")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL ${QKEY_DEB_COMPONENTS})
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_SECTION misc)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://example.invalid/qkey")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_COMPRESSION_TYPE xz)

set(CPACK_DEBIAN_PROVIDER_PACKAGE_NAME qkey-provider)
set(CPACK_DEBIAN_PROVIDER_PACKAGE_SECTION libs)
set(CPACK_COMPONENT_PROVIDER_DESCRIPTION "OpenSSL 3 provider for QKD keys and quantum randomness
 qkey.so, loaded by name (provider qkey) from OpenSSL's modules directory:
 a QRNG seed source for OpenSSL's DRBGs, QKD and hybrid KEMs, and TLS 1.3
 groups such as x25519_qkd, so unmodified TLS programs use QKD keys through
 openssl.cnf alone.")
set(CPACK_DEBIAN_PROVIDER_PACKAGE_RECOMMENDS qkey-tools)

set(CPACK_DEBIAN_PKCS11_PACKAGE_NAME qkey-pkcs11)
set(CPACK_DEBIAN_PKCS11_PACKAGE_SECTION libs)
set(CPACK_COMPONENT_PKCS11_DESCRIPTION "PKCS#11 token with quantum random numbers and QKD keys
 libqkey-pkcs11.so, registered with p11-kit: a software HSM whose random
 numbers and key pairs (RSA, EC, EdDSA) come from a quantum RNG, and AES keys
 that are QKD keys shared with a peer site.")
set(CPACK_DEBIAN_PKCS11_PACKAGE_RECOMMENDS "qkey-tools, p11-kit")
# libpq is loaded with dlopen only for token.store = postgresql://... (not a link dependency)
set(CPACK_DEBIAN_PKCS11_PACKAGE_SUGGESTS libpq5)

set(CPACK_DEBIAN_TOOLS_PACKAGE_NAME qkey-tools)
set(CPACK_DEBIAN_TOOLS_PACKAGE_SECTION utils)
set(CPACK_COMPONENT_TOOLS_DESCRIPTION "command-line tools for qkey
 qkey (simulated links, status that proves OpenSSL seeds from the QRNG and
 offers the QKD groups, QKD keys and random bytes) and qkey-inject (QKD keys
 into another PKCS#11 token), qkeyd (the host's key agent: the one process that
 holds the KME credentials and the RNG device, with its systemd units), and the
 example /etc/qkey/qkey.conf.")
set(CPACK_DEBIAN_TOOLS_PACKAGE_CONTROL_EXTRA "${_deb_dir}/tools/conffiles;${_deb_dir}/tools/postrm")
set(CPACK_DEBIAN_TOOLS_PACKAGE_SUGGESTS "qkey-provider, qkey-pkcs11")

set(CPACK_DEBIAN_KMESIM_PACKAGE_NAME qkey-kme-sim)
set(CPACK_DEBIAN_KMESIM_PACKAGE_SECTION net)
set(CPACK_COMPONENT_KMESIM_DESCRIPTION "ETSI GS QKD 014 key-management entity simulator
 A pair of KMEs over HTTPS with mutual TLS, with configurable key supply and
 faults, for tests and demonstrations of qkey. Its keys are not secret.")
set(CPACK_DEBIAN_KMESIM_PACKAGE_RECOMMENDS qkey-provider)

set(CPACK_DEBIAN_DEV_PACKAGE_NAME libqkey-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
set(CPACK_COMPONENT_DEV_DESCRIPTION "development files for the qkey key-source API
 Headers (qkey/qks.h, qkey/secmem.h, qkey/pkcs11.h), the static library
 libqkey.a and qkey.pc.")
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS "libssl-dev, libjansson-dev")

include(CPack)

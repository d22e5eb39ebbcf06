# Sourced by the scripts that chroot into a Debian root (test-debian13.sh, test-packages.sh):
# bind MOUNT SOURCE TARGET records each bind mount; undo_mounts undoes them, newest first, and is
# called on every exit path (the sourcing script traps EXIT and calls it from its own cleanup).
mounts=()
undo_mounts() {
  local i
  for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do
    umount "${mounts[i]}" 2>/dev/null || umount -l "${mounts[i]}" || true
  done
  mounts=()
}
bind() { # $1 source, $2 mount point inside the root
  mkdir -p "$2"
  mount --bind "$1" "$2"
  mounts+=("$2")
}
trap 'exit 130' INT
trap 'exit 143' TERM

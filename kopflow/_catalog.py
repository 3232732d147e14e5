"""The Indonesian catalogue: English msgid -> Bahasa Indonesia.

One dict for the whole product (issue #6: one catalogue). ``tests/test_i18n.py`` fails when a
``_("...")`` literal anywhere in kopflow has no entry here. Keep entries grouped under the banner
of the module that uses them; placeholders in braces must match the English text.
"""

ID: dict[str, str] = {
    # --- errors and the CLI shell -------------------------------------------------------
    "Error": "Galat",
    # --- checkpoint ---------------------------------------------------------------------
    "checkpoint origin must be one non-empty line of text without control characters": (
        "origin checkpoint harus satu baris teks yang tidak kosong, tanpa karakter kontrol"
    ),
    "checkpoint size must be a whole number from 0 to {limit}, not {value}": (
        "ukuran checkpoint harus bilangan bulat dari 0 sampai {limit}, bukan {value}"
    ),
    "checkpoint head hash must be 64 lowercase hex digits (SHA-256), not {value}": (
        "hash kepala checkpoint harus 64 digit heksadesimal huruf kecil (SHA-256), bukan {value}"
    ),
    "checkpoint timestamp must be UTC time as YYYY-MM-DDTHH:MM:SSZ, not {value}": (
        "waktu checkpoint harus waktu UTC berbentuk YYYY-MM-DDTHH:MM:SSZ, bukan {value}"
    ),
    "an Ed25519 private key seed has 32 bytes, not {count}": (
        "seed kunci privat Ed25519 harus 32 byte, bukan {count}"
    ),
    "an Ed25519 public key has 32 bytes, not {count}": (
        "kunci publik Ed25519 harus 32 byte, bukan {count}"
    ),
    "not a valid Ed25519 public key": "bukan kunci publik Ed25519 yang sah",
    "not a signed-note private key: it must start with {prefix}": (
        "bukan kunci privat signed-note: harus diawali {prefix}"
    ),
    "this is a private key; give the public key (and keep the private one secret)": (
        "ini kunci privat; berikan kunci publiknya (dan jaga kerahasiaan kunci privat)"
    ),
    "not a signed-note private key (PRIVATE+KEY+name+keyid+key)": (
        "bukan kunci privat signed-note (PRIVATE+KEY+nama+idkunci+kunci)"
    ),
    "not a signed-note public key (name+keyid+key)": (
        "bukan kunci publik signed-note (nama+idkunci+kunci)"
    ),
    "{what}: expected three fields joined by '+'": (
        "{what}: seharusnya tiga bagian yang digabung dengan '+'"
    ),
    "{what}: the key is not base64": "{what}: kuncinya bukan base64",
    "{what}: not an Ed25519 key (type 0x01, 32 bytes)": (
        "{what}: bukan kunci Ed25519 (jenis 0x01, 32 byte)"
    ),
    "key name {name} must be non-empty, without spaces or '+'; "
    "e.g. kopflow.example/buleleng-2025": (
        "nama kunci {name} tidak boleh kosong dan tidak boleh berisi spasi atau '+'; "
        "contoh: kopflow.example/buleleng-2025"
    ),
    "key ID {stated} does not match the key name and key (expected {computed})": (
        "ID kunci {stated} tidak cocok dengan nama kunci dan kuncinya (seharusnya {computed})"
    ),
    "the private and the public key need two different files": (
        "kunci privat dan kunci publik harus disimpan di dua berkas yang berbeda"
    ),
    "key file {path} already exists; remove it or choose another path "
    "(kopflow never overwrites a key)": (
        "berkas kunci {path} sudah ada; hapus berkas itu atau pilih path lain "
        "(kopflow tidak pernah menimpa kunci)"
    ),
    "key file {path} holds a public key; signing needs the private key file": (
        "berkas kunci {path} berisi kunci publik; untuk menandatangani diperlukan berkas "
        "kunci privat"
    ),
    "key file {path}: {problem}": "berkas kunci {path}: {problem}",
    "key file {path} does not exist": "berkas kunci {path} tidak ada",
    "not a text file": "bukan berkas teks",
    "cannot read key file {path}: {reason}": "berkas kunci {path} tidak dapat dibaca: {reason}",
    "cannot write key file {path}: {reason}": "berkas kunci {path} tidak dapat ditulis: {reason}",
    "bad checkpoint signature by key {key}: the text was changed after signing": (
        "tanda tangan checkpoint oleh kunci {key} tidak sah: teksnya diubah setelah ditandatangani"
    ),
    "checkpoint is not signed by key {key}; it has signatures by: {found}": (
        "checkpoint tidak ditandatangani oleh kunci {key}; tanda tangan yang ada dari: {found}"
    ),
    "malformed checkpoint: {reason}": "checkpoint rusak: {reason}",
    "it is not valid UTF-8 text": "teksnya bukan UTF-8 yang sah",
    "it has Windows line endings (CR LF); signed notes use LF only": (
        "akhir barisnya gaya Windows (CR LF); signed note hanya memakai LF"
    ),
    "it contains a control character other than newline": (
        "berisi karakter kontrol selain baris baru"
    ),
    "there is no blank line between the text and the signatures": (
        "tidak ada baris kosong antara teks dan tanda tangan"
    ),
    "there is no signature line after the blank line": (
        "tidak ada baris tanda tangan setelah baris kosong"
    ),
    "it does not end with a newline": "tidak diakhiri baris baru",
    "it has more than {limit} signature lines": "berisi lebih dari {limit} baris tanda tangan",
    "signature line {number} is not '\u2014 <key name> <base64 signature>'": (
        "baris tanda tangan {number} tidak berbentuk '\u2014 <nama kunci> <tanda tangan base64>'"
    ),
    "the text must have 4 lines (origin, size, hash, {tag} line), not {count}": (
        "teksnya harus 4 baris (origin, ukuran, hash, baris {tag}), bukan {count}"
    ),
    "line 2 (size) must be a decimal number without leading zeros, not {value}": (
        "baris 2 (ukuran) harus bilangan desimal tanpa nol di depan, bukan {value}"
    ),
    "line 3 (hash) must be the base64 of 32 bytes, not {value}": (
        "baris 3 (hash) harus base64 dari 32 byte, bukan {value}"
    ),
    "line 4 must be '{tag} <hex hash> <timestamp>', not {value}": (
        "baris 4 harus '{tag} <hash heks> <waktu>', bukan {value}"
    ),
    "the hex hash on line 4 differs from the hash on line 3": (
        "hash heks di baris 4 berbeda dengan hash di baris 3"
    ),
}

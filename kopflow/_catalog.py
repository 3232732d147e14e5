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
    # --- plugins ------------------------------------------------------------------------
    "plugin {plugin} could not be imported: {error}": (
        "plugin {plugin} tidak dapat dimuat: {error}"
    ),
    "plugin {plugin} could not be registered: {error}": (
        "plugin {plugin} tidak dapat didaftarkan: {error}"
    ),
    "plugin {plugin} is loaded twice: from {first} and from {second}": (
        "plugin {plugin} dimuat dua kali: dari {first} dan dari {second}"
    ),
    "plugin {plugin} needs plugin API version {needed}; this kopflow provides {provided}": (
        "plugin {plugin} memerlukan API plugin versi {needed}; kopflow ini menyediakan {provided}"
    ),
    "plugin {plugin} failed in {hook}: {error}": "plugin {plugin} gagal di {hook}: {error}",
    "plugin {plugin} returned {kind} from {hook}; expected a list of reasons": (
        "plugin {plugin} mengembalikan {kind} dari {hook}; seharusnya daftar alasan"
    ),
    "plugin {plugin} returned {kind} from {hook}; expected a PluginInfo": (
        "plugin {plugin} mengembalikan {kind} dari {hook}; seharusnya PluginInfo"
    ),
    "plugin {plugin} registered an invalid partner: {problem}": (
        "plugin {plugin} mendaftarkan mitra yang tidak sah: {problem}"
    ),
    "partner code {code} is registered by both {first} and {second}": (
        "kode mitra {code} didaftarkan oleh {first} dan juga oleh {second}"
    ),
    "plugin {plugin} tried to replace the command {command}": (
        "plugin {plugin} mencoba mengganti perintah {command}"
    ),
    "plugin {plugin} implements unknown hook {hook}": (
        "plugin {plugin} mengimplementasikan hook yang tidak dikenal {hook}"
    ),
    "plugin {plugin} implements unknown hook {hook}; did you mean {suggestion}?": (
        "plugin {plugin} mengimplementasikan hook yang tidak dikenal {hook}; "
        "maksudnya {suggestion}?"
    ),
    "plugin {plugin}: kopflow does not call hook wrappers ({hook})": (
        "plugin {plugin}: kopflow tidak memanggil hook wrapper ({hook})"
    ),
    "{setting} names {plugin}, which is not installed": (
        "{setting} menyebut {plugin}, yang tidak terpasang"
    ),
    "unknown partner {code}; known partners: {known}": (
        "mitra {code} tidak dikenal; mitra yang ada: {known}"
    ),
    "partner {partner} has no step {step}; its steps: {known}": (
        "mitra {partner} tidak punya langkah {step}; langkahnya: {known}"
    ),
    "expected a PartnerSpec, got {kind}": "seharusnya PartnerSpec, bukan {kind}",
    "partner code {code} must match [a-z][a-z0-9_]* (at most 40)": (
        "kode mitra {code} harus berpola [a-z][a-z0-9_]* (paling banyak 40)"
    ),
    "name": "nama",
    "description": "deskripsi",
    "label": "label",
    "field {field}": "kolom {field}",
    "{what} of {where} needs non-empty id and en texts": (
        "{what} untuk {where} memerlukan teks id dan en yang tidak kosong"
    ),
    "partner {code} declares no steps": "mitra {code} tidak menyatakan langkah apa pun",
    "partner {code}: expected a StepSpec, got {kind}": (
        "mitra {code}: seharusnya StepSpec, bukan {kind}"
    ),
    "partner {code}: step id {step} must match [a-z][a-z0-9_]*": (
        "mitra {code}: id langkah {step} harus berpola [a-z][a-z0-9_]*"
    ),
    "partner {code}: step {step} is declared twice": (
        "mitra {code}: langkah {step} dinyatakan dua kali"
    ),
    "step {step}: role must be a role name such as partner": (
        "langkah {step}: peran harus berupa nama peran, misalnya partner"
    ),
    "step {step}: after must be a tuple of step ids": (
        "langkah {step}: after harus berupa tuple id langkah"
    ),
    "step {step}: field {field} is declared twice": (
        "langkah {step}: kolom {field} dinyatakan dua kali"
    ),
    "step {step}: field {field} has unknown type {type}; use one of {types}": (
        "langkah {step}: kolom {field} bertipe {type} yang tidak dikenal; gunakan salah satu dari "
        "{types}"
    ),
    "step {step}: choice field {field} lists no choices": (
        "langkah {step}: kolom pilihan {field} tidak berisi pilihan"
    ),
    "step {step}: field {field} has a broken pattern: {error}": (
        "langkah {step}: pola kolom {field} rusak: {error}"
    ),
    "partner {code}: step {step} comes after unknown step {after}": (
        "mitra {code}: langkah {step} menunggu langkah {after} yang tidak dikenal"
    ),
    "partner {code}: required step {step} comes after optional step {after}": (
        "mitra {code}: langkah wajib {step} menunggu langkah opsional {after}"
    ),
    "partner {code}: steps {steps} wait for each other in a circle": (
        "mitra {code}: langkah {steps} saling menunggu secara melingkar"
    ),
    # --- workflow ----------------------------------------------------------------------
    # evidence values (FieldSpec.parse, StepSpec.validate)
    "{field}: a value is required": "{field}: nilai wajib diisi",
    "{field}: expected text, got {kind}": "{field}: seharusnya teks, bukan {kind}",
    "{field}: '{value}' does not have the expected format: {expected}": (
        "{field}: '{value}' tidak sesuai format yang diharapkan: {expected}"
    ),
    "{field}: '{value}' is not a date; write YYYY-MM-DD, e.g. 2025-07-21": (
        "{field}: '{value}' bukan tanggal; tulis dengan format YYYY-MM-DD (tahun-bulan-tanggal), "
        "misalnya 2025-07-21"
    ),
    "{field}: {value} is in the future; record evidence once it has happened": (
        "{field}: {value} masih di masa depan; catat bukti setelah kejadiannya berlangsung"
    ),
    "{field}: {value} is below the minimum of {min}": (
        "{field}: {value} di bawah batas minimum {min}"
    ),
    "{field}: {value} is above the maximum of {max}": (
        "{field}: {value} melebihi batas maksimum {max}"
    ),
    "{field}: {value} must be an odd number": "{field}: {value} harus bilangan ganjil",
    "{field}: {value} is too large to record": "{field}: {value} terlalu besar untuk dicatat",
    "{field}: '{value}' is not a whole number": "{field}: '{value}' bukan bilangan bulat",
    "{field}: '{value}' is not a rupiah amount; write e.g. 1500000 or Rp 1.500.000": (
        "{field}: '{value}' bukan jumlah rupiah; tulis misalnya 1500000 atau Rp 1.500.000"
    ),
    "{field}: '{value}' has a fraction; money is whole rupiah, e.g. 1.500.000": (
        "{field}: '{value}' memuat pecahan; uang ditulis dalam rupiah bulat, misalnya 1.500.000"
    ),
    "{field}: a rupiah amount cannot be negative ({value})": (
        "{field}: jumlah rupiah tidak boleh negatif ({value})"
    ),
    "{field}: only one value is allowed; choose one of {allowed}": (
        "{field}: hanya boleh satu nilai; pilih salah satu dari {allowed}"
    ),
    "{field}: '{value}' is not allowed; choose from {allowed}": (
        "{field}: '{value}' tidak diperbolehkan; pilih dari {allowed}"
    ),
    "{field}: unknown field for step {step}; it accepts {known}": (
        "{field}: isian tidak dikenal untuk langkah {step}; isian yang diterima: {known}"
    ),
    "{field}: required by step {step}": "{field}: wajib diisi untuk langkah {step}",
    # lookups
    "unknown stage '{stage}'; stages: {stages}": (
        "tahap '{stage}' tidak dikenal; tahap yang ada: {stages}"
    ),
    "unknown workflow '{name}'; available in {folder}: {names}": (
        "alur kerja '{name}' tidak dikenal; yang tersedia di {folder}: {names}"
    ),
    # definition problems ("file: path: message")
    "cannot read the file: {error}": "berkas tidak dapat dibaca: {error}",
    "invalid YAML: {error}": "YAML tidak valid: {error}",
    "line {line}, column {column}": "baris {line}, kolom {column}",
    "duplicate key '{key}'": "kunci '{key}' ditulis dua kali",
    "unknown key; expected one of {keys}": "kunci tidak dikenal; gunakan salah satu dari {keys}",
    "required key is missing": "kunci wajib tidak ada",
    "expected {expected}, got {value}": "seharusnya {expected}, bukan {value}",
    "a mapping": "pemetaan (kunci: nilai)",
    "a mapping of value: label": "pemetaan nilai: label",
    "a list": "daftar",
    "true or false": "true atau false",
    "a whole number": "bilangan bulat",
    "a positive whole number": "bilangan bulat positif",
    "non-empty text": "teks yang tidak kosong",
    "a label with 'id' and 'en' texts": "label berisi teks 'id' dan 'en'",
    "an identifier (a-z, 0-9 and _, starting with a letter)": (
        "pengenal (a-z, 0-9 dan _, diawali huruf)"
    ),
    "duplicate value '{value}'": "nilai '{value}' ditulis dua kali",
    "duplicate {what} '{value}'": "{what} '{value}' ditulis dua kali",
    "stage id": "id tahap",
    "step id": "id langkah",
    "event name": "nama event",
    "duplicate field name '{name}'": "nama isian '{name}' ditulis dua kali",
    "'{name}' is a standard field every step already has; remove it": (
        "'{name}' adalah isian standar yang sudah dimiliki setiap langkah; hapus saja"
    ),
    "unknown field type '{type}'; expected one of {types}": (
        "jenis isian '{type}' tidak dikenal; gunakan salah satu dari {types}"
    ),
    "only {types} fields take this key": "kunci ini hanya untuk isian {types}",
    "a choice field needs 'choices': one of the lists under 'choices' ({lists})": (
        "isian pilihan memerlukan 'choices': salah satu daftar di bawah 'choices' ({lists})"
    ),
    "not a valid regular expression: {error}": "bukan regular expression yang valid: {error}",
    "a quoted regular expression, e.g. '[0-9]+'": (
        "regular expression di antara tanda kutip, misalnya '[0-9]+'"
    ),
    "max is below min ({min})": "max lebih kecil dari min ({min})",
    "unknown role '{role}'; roles: {roles}": (
        "peran '{role}' tidak dikenal; peran yang ada: {roles}"
    ),
    "side stages have no deadline; remove sla_days": (
        "tahap samping tidak punya tenggat; hapus sla_days"
    ),
    "'{stage}' is not a main stage; main stages: {stages}": (
        "'{stage}' bukan tahap utama; tahap utama: {stages}"
    ),
    "stage '{stage}' is final: no event may leave it": (
        "tahap '{stage}' adalah tahap akhir: tidak boleh ada event yang keluar darinya"
    ),
    "'@previous' only returns from side stages (such as suspended)": (
        "'@previous' hanya untuk kembali dari tahap samping (misalnya suspended)"
    ),
    "an advance event must lead from main stages to a later one": (
        "event advance harus bergerak dari tahap utama ke tahap utama sesudahnya"
    ),
    "several advance events leave '{stage}': {events}; mark only one": (
        "beberapa event advance keluar dari '{stage}': {events}; tandai satu saja"
    ),
    "'{step}' is not a step of this stage ({steps})": (
        "'{step}' bukan langkah di tahap ini ({steps})"
    ),
    "required step '{step}' comes after optional step '{after}'": (
        "langkah wajib '{step}' menunggu langkah opsional '{after}'"
    ),
    "'after' forms a cycle: {cycle}": "'after' membentuk lingkaran: {cycle}",
    "stage '{stage}' cannot be reached from the initial stage '{initial}'": (
        "tahap '{stage}' tidak dapat dicapai dari tahap awal '{initial}'"
    ),
    "main stage '{stage}' has no way forward: no event leads to another main stage": (
        "tahap utama '{stage}' buntu: tidak ada event menuju tahap utama lain"
    ),
    # --- report, cooperative page (kopflow/report/data.py, _report_html.py, timeline_html.py) ----
    "--format pdf needs Chromium or Google Chrome (e.g. 'apt-get install chromium', or set "
    "KOPFLOW_CHROMIUM); without it, open the HTML report in a browser and print it": (
        "--format pdf memerlukan Chromium atau Google Chrome (misalnya 'apt-get install "
        "chromium', atau atur KOPFLOW_CHROMIUM); tanpa itu, buka laporan HTML di peramban lalu "
        "cetak dari sana"
    ),
    "Chromium could not print the PDF: {error}": "Chromium tidak dapat mencetak PDF: {error}",
    "Generated by kopflow on {moment} (UTC).": "Dibuat oleh kopflow pada {moment} (UTC).",
    "Cooperative progress report: {region}": "Laporan perkembangan koperasi: {region}",
    "Partner: {partner}": "Mitra: {partner}",
    "{enrolled} cooperatives enrolled, {complete} with every required step done.": (
        "{enrolled} koperasi terdaftar pada mitra ini, {complete} di antaranya sudah "
        "menyelesaikan semua langkah wajib."
    ),
    "{count} cooperatives have been in their stage longer than its deadline on {day}, "
    "most days past the deadline first.": (
        "Per {day}, {count} koperasi berada di tahapnya lebih lama dari batas waktu tahap itu; "
        "diurutkan dari yang paling lama terlambat."
    ),
    "How many cooperatives reached each stage of the main line (those in it now and those "
    "further on); suspended and dissolved ones are counted in the table only.": (
        "Jumlah koperasi yang telah mencapai setiap tahap jalur utama (yang sedang berada di "
        "tahap itu ditambah yang sudah melewatinya); koperasi yang ditangguhkan atau dibubarkan "
        "hanya dihitung di tabel."
    ),
    "Total": "Jumlah",
    "Cooperatives per stage": "Koperasi per tahap",
    "Each bar is one kecamatan, split by the stage its cooperatives are in.": (
        "Setiap batang mewakili satu kecamatan, dibagi menurut tahap koperasinya."
    ),
    "Cooperatives per kecamatan": "Koperasi per kecamatan",
    "Partner onboarding": "Orientasi mitra",
    "Cooperatives past their stage's deadline": "Koperasi yang melewati batas waktu tahapnya",
    "Workflow diagram": "Diagram alur kerja",
    "Stages and moves between them": "Tahap dan perpindahan antartahap",
    "No checkpoint recorded.": "Belum ada checkpoint yang tercatat.",
    "Audit trail": "Jejak audit",
    "Stages": "Tahap",
    "Subdistricts": "Kecamatan",
    "Partners": "Mitra",
    "Overdue": "Terlambat",
    "Workflow": "Alur kerja",
    "cooperatives registered": "koperasi terdaftar",
    "past their stage's deadline": "melewati batas waktu tahapnya",
    "{count} in this stage now": "{count} sedang di tahap ini",
    "Stage funnel": "Corong tahapan",
    "Stage": "Tahap",
    "Cooperatives now": "Koperasi saat ini",
    "Reached the stage": "Telah mencapai tahap",
    "Past the deadline": "Melewati batas waktu",
    "Deadline (days in stage)": "Batas waktu (hari di tahap)",
    "Cooperatives per stage in each kecamatan": "Koperasi per tahap di setiap kecamatan",
    "Subdistrict (kecamatan)": "Kecamatan",
    "Left the first stage": "Sudah lewat tahap pertama",
    "Sorted by name; the last column shows which kecamatan lag behind.": (
        "Diurutkan menurut nama; kolom terakhir menunjukkan kecamatan mana yang tertinggal."
    ),
    "For each partner: how many enrolled cooperatives completed each step, and how many wait "
    "at it (their first required step not yet done).": (
        "Untuk setiap mitra: berapa koperasi terdaftar yang sudah menyelesaikan tiap langkah, dan "
        "berapa yang tertahan di langkah itu (langkah wajib pertama yang belum selesai)."
    ),
    "(required for every cooperative)": "(wajib bagi setiap koperasi)",
    "Most are waiting at: {step}.": "Paling banyak tertahan di: {step}.",
    "Step done": "Langkah selesai",
    "Waiting at this step": "Tertahan di langkah ini",
    "Cooperative": "Koperasi",
    "Village": "Desa/kelurahan",
    "In the stage since": "Di tahap ini sejak",
    "Days in the stage": "Hari di tahap ini",
    "Days past the deadline": "Hari melewati batas waktu",
    "Still missing": "Yang masih kurang",
    "Drawn from the same definition the engine runs. The main line runs left to right; "
    "dashed lines lead to and from the side stages below.": (
        "Digambar dari definisi yang sama dengan yang dijalankan sistem. Jalur utama berjalan "
        "dari kiri ke kanan; garis putus-putus menuju dan berasal dari tahap samping di bawahnya."
    ),
    "Checkpoint signed by {key} at {timestamp} for event {seq}: matches the stored chain.": (
        "Checkpoint yang ditandatangani {key} pada {timestamp} untuk entri {seq}: cocok dengan "
        "rantai yang tersimpan."
    ),
    "Checkpoint signed by {key} at {timestamp} for event {seq}: does NOT match the stored chain.": (
        "Checkpoint yang ditandatangani {key} pada {timestamp} untuk entri {seq}: TIDAK cocok "
        "dengan rantai yang tersimpan."
    ),
    "Log identifier: {log_id}": "Pengenal log: {log_id}",
    "in stage {stage}": "di tahap {stage}",
    "audit events verified": "entri audit terverifikasi",
    "audit chain broken": "rantai audit rusak",
    "No cooperative of this region is enrolled with this partner yet.": (
        "Belum ada koperasi di wilayah ini yang terdaftar pada mitra ini."
    ),
    "Steps in the order the partner declares them.": (
        "Langkah ditampilkan sesuai urutan yang ditetapkan mitra."
    ),
    "Step": "Langkah",
    "Required": "Wajib",
    "No cooperative is past its deadline on {day}.": (
        "Per {day} tidak ada koperasi yang melewati batas waktu."
    ),
    "yes": "ya",
    "no": "tidak",
    "nothing: it can move on": "tidak ada: siap lanjut ke tahap berikutnya",
    "The audit chain verifies up to event {seq}.": (
        "Rantai audit terverifikasi sampai entri {seq}."
    ),
    "The audit chain does NOT verify: {problem}. It holds up to event {seq}.": (
        "Rantai audit TIDAK lolos verifikasi: {problem}. Rantai utuh sampai entri {seq}."
    ),
    "As of {day}": "Keadaan per {day}",
    "Workflow: {workflow}": "Alur kerja: {workflow}",
    "--checkpoint and --key go together: the note and the key that signed it": (
        "--checkpoint dan --key harus diberikan bersama: catatan checkpoint dan kunci yang "
        "menandatanganinya"
    ),
    "no cooperatives registered in {region}; import them with "
    "'kopflow coop import --region \"{region}\"'": (
        "belum ada koperasi terdaftar di {region}; impor dengan "
        "'kopflow coop import --region \"{region}\"'"
    ),
    "cannot read checkpoint {path}: {reason}": "checkpoint {path} tidak dapat dibaca: {reason}",
    "not enrolled with {partner}": "belum terdaftar pada {partner}",
    "Report written to {path}": "Laporan ditulis ke {path}",
    "Write the report of one kabupaten/kota as a single HTML file that needs no network to "
    "open or print: the stage funnel, each kecamatan, each partner's pipeline, the "
    "cooperatives past their stage's deadline with what they still miss, the workflow "
    "diagram and the audit status. In Bahasa Indonesia unless --lang en. --format pdf "
    "prints it with Chromium if one is installed; else print the HTML from a browser.": (
        "Tulis laporan satu kabupaten/kota sebagai satu berkas HTML yang dapat dibuka dan "
        "dicetak tanpa jaringan: corong tahapan, setiap kecamatan, alur setiap mitra, koperasi "
        "yang melewati batas waktu tahapnya beserta kekurangannya, diagram alur kerja dan status "
        "audit. Dalam Bahasa Indonesia kecuali dengan --lang en. --format pdf mencetaknya "
        "dengan Chromium bila terpasang; jika tidak, cetak HTML-nya dari peramban."
    ),
    "The kabupaten/kota, e.g. 'Kabupaten Buleleng'.": (
        "Kabupaten/kota yang dilaporkan, misalnya 'Kabupaten Buleleng'."
    ),
    "The file to write.": "Berkas yang akan ditulis.",
    "Language of the report (default: id).": "Bahasa laporan (bawaan: id).",
    "html, or pdf (needs Chromium or Google Chrome on this machine).": (
        "html, atau pdf (memerlukan Chromium atau Google Chrome di komputer ini)."
    ),
    "A signed checkpoint to compare the audit chain with (with --key).": (
        "Checkpoint bertanda tangan untuk dibandingkan dengan rantai audit (bersama --key)."
    ),
    "The public key file that signed --checkpoint.": (
        "Berkas kunci publik yang menandatangani --checkpoint."
    ),
    "cannot write {path}: {reason}": "{path} tidak dapat ditulis: {reason}",
    "Record of cooperative {coop}": "Riwayat koperasi {coop}",
    "When this page was made, the audit log ended at event {seq}. Check the hashes above with "
    "'kopflow audit verify'.": (
        "Saat halaman ini dibuat, log audit berakhir pada entri {seq}. Periksa hash di atas "
        "dengan 'kopflow audit verify'."
    ),
    "Villages": "Desa/kelurahan",
    "Kabupaten/kota": "Kabupaten/kota",
    "Stage now": "Tahap saat ini",
    "{stage} since {since}": "{stage} sejak {since}",
    "Record version": "Versi data",
    "Stage or partner": "Tahap atau mitra",
    "Version": "Versi",
    "Stage changed: {event}": "Pindah tahap: {event}",
    "Audit event": "Entri audit",
    "What happened": "Kejadian",
    "Evidence and details": "Bukti dan rincian",
    "Event hash (start)": "Hash entri (awal)",
    "Nothing recorded yet.": "Belum ada yang dicatat.",
    "from {source} to {dest}": "dari {source} ke {dest}",
    "Enrolled with partner {partner}": "Didaftarkan pada mitra {partner}",
    "Checked by": "Diperiksa oleh",
    "Date": "Tanggal",
    "Kec. {kecamatan}": "Kec. {kecamatan}",
    "Nothing is missing for the next stage.": "Tidak ada yang kurang untuk tahap berikutnya.",
    "Steps and their evidence": "Langkah dan buktinya",
    "Still missing before the next stage": "Yang masih kurang sebelum tahap berikutnya",
    "Everything that happened, in order": "Seluruh kejadian, berurutan",
    "Step recorded: {step} (version {version})": "Langkah dicatat: {step} (versi {version})",
    "Step undone: {step} (version {version})": "Langkah dibatalkan: {step} (versi {version})",
    "Reason: {reason}": "Alasan: {reason}",
    "Written: {path}": "Ditulis: {path}",
    "Also write the whole record (steps, evidence, every change) as a printable HTML page.": (
        "Tulis juga seluruh riwayat (langkah, bukti, setiap perubahan) sebagai halaman HTML "
        "yang siap dicetak."
    ),
    # --- cli and engine ------------------------------------------------------------------
    # kopflow/cli/__init__.py
    "Create the database (or upgrade it) and start the audit log.": (
        "Buat basis data (atau perbarui) dan mulai log audit."
    ),
    "Import a kabupaten, drive a few cooperatives, show the status.": (
        "Impor satu kabupaten, jalankan beberapa koperasi melewati tahapan, tampilkan statusnya."
    ),
    "Database schema and maintenance.": "Skema dan pemeliharaan basis data.",
    "Register, list and show cooperatives.": "Daftarkan, tampilkan daftar dan rincian koperasi.",
    "Complete, correct or undo a step with its evidence.": (
        "Selesaikan, koreksi atau batalkan langkah beserta buktinya."
    ),
    "What can be done now for a cooperative.": "Apa yang dapat dikerjakan sekarang untuk koperasi.",
    "Move cooperatives to their next stage.": "Pindahkan koperasi ke tahap berikutnya.",
    "Count cooperatives per stage.": "Hitung koperasi per tahap.",
    "Write a kabupaten's report: one HTML file with charts, in Bahasa Indonesia.": (
        "Tulis laporan kabupaten: satu berkas HTML dengan grafik, dalam Bahasa Indonesia."
    ),
    "Show, check, draw and migrate workflow definitions.": (
        "Tampilkan, periksa, gambar dan migrasikan definisi alur kerja."
    ),
    "Partner onboarding: enroll, steps, status.": (
        "Orientasi mitra: pendaftaran, langkah, status."
    ),
    "List and check installed plugins.": "Tampilkan dan periksa plugin yang terpasang.",
    "Who may use kopflow, with which role.": "Siapa yang boleh memakai kopflow, dengan peran apa.",
    "Read, verify, export and sign the audit log.": (
        "Baca, verifikasi, ekspor dan tanda tangani log audit."
    ),
    "Language of messages (default: KOPFLOW_LANG, else LANG, else id).": (
        "Bahasa pesan (bawaan: KOPFLOW_LANG, lalu LANG, lalu id)."
    ),
    "Database: an SQLite file or postgresql+psycopg://... (default: KOPFLOW_DB, else "
    "./kopflow.db).": (
        "Basis data: berkas SQLite atau postgresql+psycopg://... (bawaan: KOPFLOW_DB, lalu "
        "./kopflow.db)."
    ),
    "Act as this actor (default: KOPFLOW_ACTOR, else your login).": (
        "Bertindak sebagai aktor ini (bawaan: KOPFLOW_ACTOR, lalu nama login Anda)."
    ),
    "Load a plugin module or .py file (repeatable; also KOPFLOW_PLUGINS).": (
        "Muat modul plugin atau berkas .py (boleh diulang; juga lewat KOPFLOW_PLUGINS)."
    ),
    "Do not load this plugin (repeatable; also KOPFLOW_DISABLE_PLUGINS).": (
        "Jangan muat plugin ini (boleh diulang; juga lewat KOPFLOW_DISABLE_PLUGINS)."
    ),
    "Operational logs as JSON lines on stderr.": "Log operasional sebagai baris JSON di stderr.",
    "Log every change on stderr.": "Catat setiap perubahan di stderr.",
    "Usage": "Penggunaan",
    "unexpected {kind}: {error} (set KOPFLOW_DEBUG=1 for details)": (
        "{kind} tak terduga: {error} (atur KOPFLOW_DEBUG=1 untuk rinciannya)"
    ),
    "Commands": "Perintah",
    "Options": "Opsi",
    "Interrupted; every change committed so far is whole.": (
        "Dihentikan; setiap perubahan yang sudah tersimpan tetap utuh."
    ),
    # kopflow/cli/_output.py
    "Print JSON for scripts.": "Cetak JSON untuk skrip.",
    "dry run, nothing written: ": "uji coba, tidak ada yang ditulis: ",
    "{verb}: {done} done, {refused} refused": "{verb}: {done} berhasil, {refused} ditolak",
    # kopflow/cli/actor.py, kopflow/rules/actors.py
    "actor {name} added as {role}": "aktor {name} ditambahkan sebagai {role}",
    "Add an actor: an officer of one kabupaten (--region), a partner's staff (--partner), an "
    "auditor (read only) or an admin.": (
        "Tambahkan aktor: petugas satu kabupaten (--region), staf mitra (--partner), auditor "
        "(hanya membaca) atau admin."
    ),
    "The actor's role.": "Peran aktor.",
    "For an officer: the kabupaten/kota they act for.": (
        "Untuk petugas: kabupaten/kota tempat ia bertugas."
    ),
    "For partner staff: the partner code, e.g. bri.": "Untuk staf mitra: kode mitra, misalnya bri.",
    "Actors": "Aktor",
    "Every actor, enabled or not.": "Semua aktor, aktif maupun tidak.",
    "actor {name} disabled": "aktor {name} dinonaktifkan",
    "Disable an actor; their past actions stay in the audit log.": (
        "Nonaktifkan aktor; tindakannya yang lalu tetap tercatat di log audit."
    ),
    "Name": "Nama",
    "Role": "Peran",
    "Kabupaten": "Kabupaten",
    "Partner": "Mitra",
    "Enabled": "Aktif",
    "unknown role {role}; roles: {roles}": "peran {role} tidak dikenal; peran yang ada: {roles}",
    "an officer needs --region KABUPATEN": "petugas memerlukan --region KABUPATEN",
    "a partner's actor needs --partner CODE": "aktor mitra memerlukan --partner KODE",
    "--region goes with --role officer": "--region hanya dipakai bersama --role officer",
    "--partner goes with --role partner": "--partner hanya dipakai bersama --role partner",
    "add actors": "menambahkan aktor",
    "actor {name} exists already": "aktor {name} sudah ada",
    "disable actors": "menonaktifkan aktor",
    "you cannot disable yourself": "Anda tidak dapat menonaktifkan diri sendiri",
    "no enabled actor {name}": "tidak ada aktor aktif bernama {name}",
    "{coop} already runs {name} v{version}": "{coop} sudah memakai {name} v{version}",
    "{coop} runs another workflow ({name})": "{coop} memakai alur kerja lain ({name})",
    # kopflow/cli/coop.py
    "Look at this day (YYYY-MM-DD) instead of today.": (
        "Lihat keadaan pada tanggal ini (YYYY-MM-DD), bukan hari ini."
    ),
    "give exactly one of FILE.csv, --region, --province or --all": (
        "berikan tepat satu dari FILE.csv, --region, --province atau --all"
    ),
    "Register one cooperative per desa/kelurahan: of a kabupaten (--region), a province "
    "(--province) or the whole country (--all) from the areaid data, or from your own CSV file "
    "(columns: region_code, village, kecamatan, kabupaten, provinsi, and optionally "
    "postal_code and coop_id). Running it again adds nothing.": (
        "Daftarkan satu koperasi per desa/kelurahan: untuk satu kabupaten (--region), satu "
        "provinsi (--province) atau seluruh Indonesia (--all) dari data areaid, atau dari berkas "
        "CSV Anda sendiri (kolom: region_code, village, kecamatan, kabupaten, provinsi, dan bila "
        "ada postal_code dan coop_id). Menjalankannya lagi tidak menambah apa pun."
    ),
    "A kabupaten/kota, e.g. 'Kabupaten Buleleng'.": (
        "Satu kabupaten/kota, misalnya 'Kabupaten Buleleng'."
    ),
    "A whole province, e.g. 'Bali'.": "Satu provinsi, misalnya 'Bali'.",
    "Every village in the country.": "Semua desa/kelurahan di Indonesia.",
    "{count} cooperatives": "{count} koperasi",
    "List cooperatives, optionally by stage, kecamatan, kabupaten or overdue.": (
        "Tampilkan daftar koperasi, bisa disaring menurut tahap, kecamatan, kabupaten atau "
        "keterlambatan."
    ),
    "Only this stage.": "Hanya tahap ini.",
    "Only this kecamatan.": "Hanya kecamatan ini.",
    "Only this kabupaten/kota.": "Hanya kabupaten/kota ini.",
    "Only cooperatives past their stage's deadline, oldest first.": (
        "Hanya koperasi yang melewati batas waktu tahapnya, yang terlama lebih dulu."
    ),
    "At most this many rows.": "Paling banyak sejumlah baris ini.",
    "Show a cooperative: stage, steps done and missing, evidence and timeline.": (
        "Tampilkan satu koperasi: tahap, langkah yang selesai dan yang belum, bukti dan riwayatnya."
    ),
    "Kecamatan {kecamatan}, {kabupaten}, {provinsi}": (
        "Kecamatan {kecamatan}, {kabupaten}, {provinsi}"
    ),
    "Stage: {stage} since {since} (version {version})": (
        "Tahap: {stage} sejak {since} (versi {version})"
    ),
    "Steps": "Langkah",
    "Timeline": "Riwayat",
    "importing": "mengimpor",
    "{added} cooperatives registered, {skipped} already registered": (
        "{added} koperasi didaftarkan, {skipped} sudah terdaftar sebelumnya"
    ),
    "Kecamatan": "Kecamatan",
    "Since": "Sejak",
    "Days overdue": "Hari terlambat",
    "Partners: {partners}": "Mitra: {partners}",
    "Before {event}: {missing}": "Sebelum {event}: {missing}",
    "done": "selesai",
    "State": "Status",
    "Evidence": "Bukti",
    "Audit #": "No. audit",
    "Time (UTC)": "Waktu (UTC)",
    "Actor": "Aktor",
    "What": "Kejadian",
    "missing": "belum ada",
    "optional": "opsional",
    # kopflow/cli/db.py, kopflow/store/db.py, kopflow/rules/roles.py, kopflow/rules/transfer.py
    "database ready: {url} (schema {schema})": "basis data siap: {url} (skema {schema})",
    "Create the database (or upgrade it) and start the audit log. The first person to "
    "initialise it becomes its admin.": (
        "Buat basis data (atau perbarui) dan mulai log audit. Orang pertama yang "
        "menyiapkannya menjadi admin."
    ),
    "schema {before} -> {after}": "skema {before} -> {after}",
    "Upgrade the database schema to this version of kopflow.": (
        "Perbarui skema basis data ke versi kopflow ini."
    ),
    "PostgreSQL: create a group role per kopflow role and a login per actor, and grant exactly "
    "what each role needs (auditors read only; nobody may change audit events). Run as the "
    "owner of the tables, again after 'actor add', 'actor disable' and 'db upgrade'.": (
        "PostgreSQL: buat satu group role per peran kopflow dan satu login per aktor, lalu "
        "berikan hak akses yang tepat sesuai kebutuhan setiap peran (auditor hanya membaca; "
        "tidak seorang pun boleh mengubah entri audit). Jalankan sebagai pemilik tabel, dan "
        "ulangi setelah 'actor add', 'actor disable' dan 'db upgrade'."
    ),
    "Print the SQL statements, run nothing.": "Cetak perintah SQL-nya saja, tanpa menjalankannya.",
    "audit chain verified on {target}: {count} events, head {hash}": (
        "rantai audit terverifikasi di {target}: {count} entri, kepala {hash}"
    ),
    "Copy this database (a district's SQLite file) into an empty database, usually the "
    "national PostgreSQL one: every table, the audit chain byte for byte, verified there with "
    "the same head hash before it commits.": (
        "Salin basis data ini (berkas SQLite sebuah kabupaten) ke basis data kosong, biasanya "
        "PostgreSQL nasional: semua tabel, rantai audit persis byte demi byte, diverifikasi di "
        "sana dengan hash kepala yang sama sebelum disimpan."
    ),
    "{admin} is its admin": "{admin} adalah adminnya",
    "{role}: group role {group}": "{role}: group role {group}",
    "table {table} has no grant rule: SELECT only": (
        "tabel {table} tidak punya aturan hak akses: hanya SELECT"
    ),
    "{table}: {count} rows copied": "{table}: {count} baris disalin",
    "login {actor} ({role}): {action}": "login {actor} ({role}): {action}",
    "the folder for database file {path} does not exist": (
        "folder untuk berkas basis data {path} tidak ada"
    ),
    "this database has no kopflow schema; run 'kopflow init' first": (
        "basis data ini belum memiliki skema kopflow; jalankan 'kopflow init' dulu"
    ),
    "the database schema is at revision {have}, this kopflow needs {want}; run "
    "'kopflow db upgrade'": (
        "skema basis data ada di revisi {have}, kopflow ini memerlukan {want}; jalankan "
        "'kopflow db upgrade'"
    ),
    "unsupported database URL {url}; use an SQLite file path or postgresql+psycopg://...": (
        "URL basis data {url} tidak didukung; gunakan path berkas SQLite atau "
        "postgresql+psycopg://..."
    ),
    "cannot connect to {url}: {error}": "tidak dapat terhubung ke {url}: {error}",
    "the database refused login {login}: {error}": "basis data menolak login {login}: {error}",
    "login {login} sees no schema in its search_path: it does not exist, or the login may not "
    "use it (an admin adds the login as an actor, then the owner runs 'kopflow db grant')": (
        "login {login} tidak melihat skema di search_path-nya: skema itu tidak ada, atau login "
        "ini tidak berhak memakainya (admin menambahkan login ini sebagai aktor, lalu pemilik "
        "tabel menjalankan 'kopflow db grant')"
    ),
    "schema {schema} cannot name kopflow's roles: use a lower-case name of letters, digits and "
    "_ of at most 40 characters": (
        "skema {schema} tidak dapat dipakai untuk menamai peran kopflow: gunakan nama huruf "
        "kecil dari huruf, angka dan _ paling panjang 40 karakter"
    ),
    "db grant is for PostgreSQL; an SQLite file is protected by its file permissions": (
        "db grant hanya untuk PostgreSQL; berkas SQLite dilindungi oleh izin berkasnya"
    ),
    "db grant runs as the owner of the kopflow tables ({owner}) with CREATEROLE, or as a "
    "superuser; {login} is neither": (
        "db grant harus dijalankan sebagai pemilik tabel kopflow ({owner}) dengan CREATEROLE, "
        "atau sebagai superuser; {login} bukan keduanya"
    ),
    "the target is the source database; give another database": (
        "basis data tujuan sama dengan sumbernya; berikan basis data lain"
    ),
    "move the database": "memindahkan basis data",
    "the source audit chain does not verify at event {seq}: {problem}; nothing was moved": (
        "rantai audit sumber gagal diverifikasi pada entri {seq}: {problem}; tidak ada yang "
        "dipindahkan"
    ),
    "the target already holds {count} rows in table {table}; migrate-to moves a database only "
    "into an empty one, because the audit chain it copies starts at event 1": (
        "tujuan sudah berisi {count} baris di tabel {table}; migrate-to hanya memindahkan basis "
        "data ke basis data kosong, karena rantai audit yang disalin dimulai dari entri 1"
    ),
    "the copy does not verify on the target ({problem}); nothing was committed": (
        "salinan gagal diverifikasi di tujuan ({problem}); tidak ada yang disimpan"
    ),
    "the copy holds other row counts than the source ({counts}); nothing was committed": (
        "jumlah baris salinan berbeda dengan sumbernya ({counts}); tidak ada yang disimpan"
    ),
    "its head is event {seq}, not {want}": "kepalanya entri {seq}, bukan {want}",
    # kopflow/cli/demo.py
    "Create the database, import a kabupaten, drive a few cooperatives through the stages "
    "with sample evidence, and print the status table.": (
        "Buat basis data, impor satu kabupaten, jalankan beberapa koperasi melewati tahapan "
        "dengan bukti contoh, lalu cetak tabel statusnya."
    ),
    "The kabupaten to import.": "Kabupaten yang diimpor.",
    "{stage}: {done} cooperatives moved on": "{stage}: {done} koperasi pindah ke tahap berikutnya",
    # kopflow/cli/flow.py
    "{coop} is in stage {stage}": "{coop} berada di tahap {stage}",
    "Steps open now: {steps}": "Langkah yang dapat dikerjakan sekarang: {steps}",
    "Events from this stage: {events}": "Event dari tahap ini: {events}",
    "What can be done now for COOP, and what is missing before it can advance.": (
        "Apa yang dapat dikerjakan sekarang untuk COOP, dan apa yang masih kurang sebelum ia "
        "dapat maju."
    ),
    "give COOP, or --where-stage STAGE for many": (
        "berikan COOP, atau --where-stage TAHAP untuk banyak koperasi"
    ),
    "--dry-run, --kecamatan, --region and --event go with --where-stage": (
        "--dry-run, --kecamatan, --region dan --event hanya dipakai bersama --where-stage"
    ),
    "Fire EVENT for COOP (default: move it to the next stage). With --where-stage, move every "
    "cooperative in that stage (optionally of one kecamatan or kabupaten); each one moves "
    "whole or not at all, and refusals are listed with their reasons.": (
        "Jalankan EVENT untuk COOP (bawaan: pindahkan ke tahap berikutnya). Dengan --where-stage, "
        "pindahkan semua koperasi di tahap itu (bisa dibatasi satu kecamatan atau kabupaten); "
        "setiap koperasi pindah seluruhnya atau tidak sama sekali, dan penolakan dicantumkan "
        "beserta alasannya."
    ),
    "Why (required to suspend or dissolve).": "Alasannya (wajib untuk menangguhkan atau membubarkan).",
    "Move every cooperative in this stage.": "Pindahkan semua koperasi di tahap ini.",
    "With --where-stage: only this kecamatan.": "Bersama --where-stage: hanya kecamatan ini.",
    "With --where-stage: only this kabupaten/kota.": (
        "Bersama --where-stage: hanya kabupaten/kota ini."
    ),
    "With --where-stage: fire this event instead of the forward one.": (
        "Bersama --where-stage: jalankan event ini, bukan event maju."
    ),
    "Refuse if the cooperative changed since you saw this version.": (
        "Tolak bila koperasi sudah berubah sejak Anda melihat versi ini."
    ),
    "Check everything, write nothing.": "Periksa semuanya tanpa menulis apa pun.",
    "Count cooperatives per stage, with how many are overdue.": (
        "Hitung koperasi per tahap, beserta jumlah yang terlambat."
    ),
    "Also split by kecamatan or kabupaten.": "Rinci juga per kecamatan atau kabupaten.",
    "give either COOP [EVENT] or --where-stage STAGE, not both": (
        "berikan COOP [EVENT] atau --where-stage TAHAP, jangan keduanya"
    ),
    "{coop}: now in stage {stage}": "{coop}: sekarang di tahap {stage}",
    "Cooperatives": "Koperasi",
    "Ready: kopflow advance {coop}": "Siap: kopflow advance {coop}",
    "advanced": "dipindahkan",
    # kopflow/cli/step.py
    "give COOP and STEP, e.g. kopflow step complete KDMP-050509 musdesus --set date=2025-06-01": (
        "berikan COOP dan LANGKAH, misalnya kopflow step complete KDMP-050509 musdesus "
        "--set date=2025-06-01"
    ),
    "--dry-run goes with --from-csv": "--dry-run hanya dipakai bersama --from-csv",
    "Record the evidence of STEP for COOP (a partner's step is PARTNER.STEP, e.g. bri.account). "
    "A step already done is corrected as a new version when --reason is given. With "
    "--from-csv, complete many: columns coop and step, then one column per evidence field; "
    "each cooperative's rows are all recorded or all refused.": (
        "Catat bukti LANGKAH untuk COOP (langkah mitra ditulis MITRA.LANGKAH, misalnya "
        "bri.account). Langkah yang sudah selesai dikoreksi sebagai versi baru bila --reason "
        "diberikan. Dengan --from-csv, selesaikan banyak langkah: kolom coop dan step, lalu satu "
        "kolom per isian bukti; baris-baris satu koperasi dicatat semua atau ditolak semua."
    ),
    "An evidence field (repeatable).": "Isian bukti (boleh diulang).",
    "Why a done step's evidence is being corrected.": (
        "Mengapa bukti langkah yang sudah selesai dikoreksi."
    ),
    "Complete the steps listed in a CSV file.": "Selesaikan langkah yang tercantum di berkas CSV.",
    "Mark a step of the current stage as not done; its history is kept.": (
        "Tandai langkah di tahap saat ini sebagai belum selesai; riwayatnya tetap disimpan."
    ),
    "Why the step is undone.": "Mengapa langkah dibatalkan.",
    "--set takes field=value, got {item!r}": "--set berbentuk isian=nilai, bukan {item!r}",
    "give either COOP STEP --set ... or --from-csv FILE, not both": (
        "berikan COOP LANGKAH --set ... atau --from-csv BERKAS, jangan keduanya"
    ),
    "cannot read {path}: {error}": "{path} tidak dapat dibaca: {error}",
    "{path}: the first row must name the columns coop and step, then evidence fields": (
        "{path}: baris pertama harus berisi nama kolom coop dan step, lalu isian bukti"
    ),
    "recording": "mencatat",
    "steps": "langkah",
    # kopflow/cli/workflow.py
    "Stages and steps": "Tahap dan langkah",
    "Events": "Event",
    "The stages, steps, evidence fields and events of the workflow.": (
        "Tahap, langkah, isian bukti dan event dalam alur kerja."
    ),
    "{count} file(s) valid": "{count} berkas valid",
    "Check workflow files; every error is listed with file and path.": (
        "Periksa berkas alur kerja; setiap kesalahan dicantumkan beserta berkas dan lokasinya."
    ),
    "Draw the workflow as Mermaid or Graphviz dot text.": (
        "Gambar alur kerja sebagai teks Mermaid atau Graphviz dot."
    ),
    "Diagram language.": "Bahasa diagram.",
    "give COOP ids or --all": "berikan id COOP atau --all",
    "Move cooperatives that run an older version of the workflow onto the current one, "
    "explicitly and with an audit event each. Refused for a cooperative whose stage the new "
    "version no longer has.": (
        "Pindahkan koperasi yang memakai versi alur kerja lama ke versi sekarang, secara "
        "eksplisit dan masing-masing dengan entri audit. Ditolak untuk koperasi yang tahapnya "
        "sudah tidak ada di versi baru."
    ),
    "Every cooperative on an older version.": "Semua koperasi yang memakai versi lama.",
    "migrated": "dimigrasikan",
    "SLA (days)": "Batas waktu (hari)",
    "Event": "Event",
    "From": "Dari",
    "To": "Ke",
    # kopflow/pipeline/change.py, kopflow/engine.py
    "a cooperative was changed by someone else; look again and retry": (
        "koperasi telah diubah oleh orang lain; periksa lagi lalu ulangi"
    ),
    "{coop} was changed by {actor} at {at}; look again and retry": (
        "{coop} telah diubah oleh {actor} pada {at}; periksa lagi lalu ulangi"
    ),
    "{coop} runs workflow {have}; the definition is now {want}: run "
    "'kopflow workflow migrate {coop}' to move it explicitly": (
        "{coop} memakai alur kerja {have}; definisinya sekarang {want}: jalankan "
        "'kopflow workflow migrate {coop}' untuk memindahkannya secara eksplisit"
    ),
    "unknown step {step}; see 'kopflow workflow show' for the steps of each stage": (
        "langkah {step} tidak dikenal; lihat 'kopflow workflow show' untuk langkah setiap tahap"
    ),
    "{coop} is dissolved": "{coop} sudah dibubarkan",
    "enrolled with {partners}": "didaftarkan pada {partners}",
    "on PostgreSQL you act as your database login {login}, not as {actor}; connect as {actor} "
    "to act as them": (
        "di PostgreSQL Anda bertindak sebagai login basis data {login}, bukan sebagai {actor}; "
        "masuklah sebagai {actor} untuk bertindak atas namanya"
    ),
    "unknown actor {actor}; an admin can add them with 'kopflow actor add {actor} --role ...'": (
        "aktor {actor} tidak dikenal; admin dapat menambahkannya dengan "
        "'kopflow actor add {actor} --role ...'"
    ),
    "actor {actor} is disabled": "aktor {actor} sudah dinonaktifkan",
    "workflow {name} version {version} was changed after cooperatives started using it; give "
    "the changed file a new version, then run 'kopflow workflow migrate'": (
        "alur kerja {name} versi {version} diubah setelah koperasi mulai memakainya; beri "
        "berkas yang diubah nomor versi baru, lalu jalankan 'kopflow workflow migrate'"
    ),
    "already enrolled": "sudah terdaftar",
    # kopflow/authz.py
    "{actor} is an auditor and may only read": "{actor} adalah auditor dan hanya boleh membaca",
    "{actor} ({role}) may not {action}; an admin must do it": (
        "{actor} ({role}) tidak boleh {action}; hanya admin yang boleh"
    ),
    "{actor} works for partner {partner} and may only complete its steps": (
        "{actor} bekerja untuk mitra {partner} dan hanya boleh menyelesaikan langkah mitra itu"
    ),
    "{actor} is an officer of {region} and may not act on {coop} in {kabupaten}": (
        "{actor} adalah petugas {region} dan tidak boleh menangani {coop} di {kabupaten}"
    ),
    "step {step} is completed by role {role}, not by {actor}": (
        "langkah {step} diselesaikan oleh peran {role}, bukan oleh {actor}"
    ),
    "{actor} works for partner {partner} and may not complete step {step}": (
        "{actor} bekerja untuk mitra {partner} dan tidak boleh menyelesaikan langkah {step}"
    ),
    # kopflow/flow/machine.py, kopflow/rules/transition.py
    "unknown event {event}; events of this workflow: {known}": (
        "event {event} tidak dikenal; event dalam alur kerja ini: {known}"
    ),
    "cannot {event} from stage {stage}": "tidak dapat {event} dari tahap {stage}",
    "cannot {event} from stage {stage}; possible now: {possible}": (
        "tidak dapat {event} dari tahap {stage}; yang mungkin sekarang: {possible}"
    ),
    "event {event} needs a reason: add --reason TEXT": (
        "event {event} memerlukan alasan: tambahkan --reason TEKS"
    ),
    "missing steps of {stage}: {steps}": "langkah {stage} yang belum selesai: {steps}",
    "{coop} is in stage {stage}, which has no next stage; possible events: {possible}": (
        "{coop} berada di tahap {stage}, yang tidak punya tahap berikutnya; event yang mungkin: "
        "{possible}"
    ),
    "not enrolled with required partner {partner}": "belum terdaftar pada mitra wajib {partner}",
    "missing steps of partner {partner}: {steps}": (
        "langkah mitra {partner} yang belum selesai: {steps}"
    ),
    # kopflow/rules/queries.py, kopflow/regions.py
    "{ref} names {count} cooperatives; use an id: {candidates}": (
        "{ref} cocok dengan {count} koperasi; gunakan id: {candidates}"
    ),
    "no cooperative {ref}: give its id (e.g. KDMP-050509) or its village name": (
        "tidak ada koperasi {ref}: berikan id-nya (misalnya KDMP-050509) atau nama desanya"
    ),
    "--by takes kecamatan or kabupaten, not {by}": (
        "--by hanya menerima kecamatan atau kabupaten, bukan {by}"
    ),
    "unknown {kind} {name!r}; did you mean: {close}": (
        "{kind} {name!r} tidak dikenal; mungkin maksudnya: {close}"
    ),
    "{path}: missing column(s) {missing}; expected {expected}": (
        "{path}: kolom {missing} tidak ada; yang diharapkan: {expected}"
    ),
    "{path}:{line}: region_code {code!r} is not a village code like 51.08.01.2001": (
        "{path}:{line}: region_code {code!r} bukan kode desa/kelurahan seperti 51.08.01.2001"
    ),
    "{path}:{line}: column {column} is empty": "{path}:{line}: kolom {column} kosong",
    "{path}:{line}: region_code {code} is already on line {first}": (
        "{path}:{line}: region_code {code} sudah ada di baris {first}"
    ),
    "{path}:{line}: coop_id {coop_id!r} must be 1 to 32 letters, digits, '.', '_' or '-'": (
        "{path}:{line}: coop_id {coop_id!r} harus 1 sampai 32 huruf, angka, '.', '_' atau '-'"
    ),
    # kopflow/rules/steps.py
    "{coop} is {stage}; resume it before recording steps": (
        "{coop} berstatus {stage}; lanjutkan dulu sebelum mencatat langkah"
    ),
    "step {step} comes after {missing}, which is not done yet": (
        "langkah {step} baru bisa dikerjakan setelah {missing}, yang belum selesai"
    ),
    "step {step} of {coop} is done already; to correct its evidence give --reason": (
        "langkah {step} untuk {coop} sudah selesai; untuk mengoreksi buktinya berikan --reason"
    ),
    "evidence for {step} refused": "bukti untuk {step} ditolak",
    "corrected {step}": "{step} dikoreksi",
    "completed {step}": "{step} selesai",
    "undoing a step needs --reason": "membatalkan langkah memerlukan --reason",
    "step {step} belongs to stage {step_stage} and {coop} is in {stage}; only steps of the "
    "current stage can be undone": (
        "langkah {step} termasuk tahap {step_stage}, sedangkan {coop} berada di tahap {stage}; "
        "hanya langkah di tahap saat ini yang dapat dibatalkan"
    ),
    "step {step} of {coop} is not done": "langkah {step} untuk {coop} belum selesai",
    "undo {dependents} first: it comes after {step}": (
        "batalkan {dependents} dulu: langkah itu bergantung pada {step}"
    ),
    "undid {step}": "{step} dibatalkan",
    "{coop} is not enrolled with {partner}; run 'kopflow partner enroll {coop} {partner}'": (
        "{coop} belum terdaftar pada {partner}; jalankan 'kopflow partner enroll {coop} {partner}'"
    ),
    "partner steps start in stage {onboarding}; {coop} is in {stage}": (
        "langkah mitra dimulai di tahap {onboarding}; {coop} berada di tahap {stage}"
    ),
    "step {step} belongs to stage {step_stage}; {coop} is in {stage}: finish the current "
    "stage first": (
        "langkah {step} termasuk tahap {step_stage}; {coop} berada di tahap {stage}: selesaikan "
        "tahap saat ini dulu"
    ),
    # kopflow/audit/chain.py
    "an event after event {seq} holds bytes that are not UTF-8 text: the database was edited "
    "outside kopflow": (
        "entri sesudah entri {seq} berisi byte yang bukan teks UTF-8: basis data diubah di luar "
        "kopflow"
    ),
    "event {seq} is not in canonical form": "entri {seq} tidak berbentuk kanonik",
    "events {first} to {last} are missing": "entri {first} sampai {last} hilang",
    "event {seq} is stored twice or out of order": (
        "entri {seq} tersimpan dua kali atau tidak berurutan"
    ),
    "event {seq} was changed: its hash does not match its content": (
        "entri {seq} telah diubah: hash-nya tidak cocok dengan isinya"
    ),
    "event {seq} is not a JSON object": "entri {seq} bukan objek JSON",
    "the event stored as {seq} is event {claimed} of the chain: events were removed, inserted "
    "or reordered": (
        "entri yang tersimpan sebagai {seq} adalah entri {claimed} dalam rantai: ada entri yang "
        "dihapus, disisipkan atau diubah urutannya"
    ),
    "event {before} was changed after event {seq} was written (its hash was recomputed), or "
    "event {seq} was forged: event {seq} is chained to another hash": (
        "entri {before} diubah setelah entri {seq} ditulis (hash-nya dihitung ulang), atau entri "
        "{seq} dipalsukan: entri {seq} terhubung ke hash lain"
    ),
    "event {seq} has an unknown format version": "entri {seq} memakai versi format yang tidak dikenal",
    "event {seq} was changed after it was written: the chain head names another hash": (
        "entri {seq} diubah setelah ditulis: kepala rantai menyebut hash lain"
    ),
    "events {first} to {size} are missing: the checkpoint of {timestamp} names event {size}, "
    "the chain ends at event {last}": (
        "entri {first} sampai {size} hilang: checkpoint {timestamp} menyebut entri {size}, "
        "sedangkan rantai berakhir di entri {last}"
    ),
    "event {seq} is missing": "entri {seq} hilang",
    "event {seq} was inserted: the event stored after it is the original event {seq}": (
        "entri {seq} disisipkan: entri yang tersimpan sesudahnya adalah entri {seq} yang asli"
    ),
    "event 1 does not start the chain: it names a previous event": (
        "entri 1 bukan awal rantai: entri itu menyebut entri sebelumnya"
    ),
    "event {seq} was changed: its {column} column says {stored} but its hashed content says "
    "{hashed}": (
        "entri {seq} telah diubah: kolom {column} berisi {stored} padahal isi yang di-hash "
        "berisi {hashed}"
    ),
    "events {first} to {head} are missing: the chain ends at event {last} but its head names "
    "event {head}": (
        "entri {first} sampai {head} hilang: rantai berakhir di entri {last} padahal kepalanya "
        "menyebut entri {head}"
    ),
    "event {size} differs from the checkpoint of {timestamp}: the history up to event {size} "
    "was rewritten": (
        "entri {size} berbeda dengan checkpoint {timestamp}: riwayat sampai entri {size} telah "
        "ditulis ulang"
    ),
    "events {first} to {last} were added outside kopflow: the chain head still names event "
    "{head}": (
        "entri {first} sampai {last} ditambahkan di luar kopflow: kepala rantai masih menyebut "
        "entri {head}"
    ),
    # --- database -----------------------------------------------------------------------
    "created": "dibuat",
    "granted": "diberi hak",
    "unchanged": "tidak berubah",
    "revoked": "hak dicabut",
    "disabled": "nonaktif",
    "skipped": "dilewati",
    "reserved role name": "nama role dicadangkan",
    "owner or superuser: keeps its own rights": "pemilik atau superuser: tetap dengan haknya sendiri",
    "the target already holds {count} audit events of its own chain; migrate-to moves a "
    "database only into an empty one, because the chain it copies starts at event 1 and "
    "cannot follow another": (
        "tujuan sudah berisi {count} event audit dari rantainya sendiri; migrate-to hanya "
        "memindahkan basis data ke basis data kosong, karena rantai yang disalin dimulai dari "
        "event 1 dan tidak dapat menyambung rantai lain"
    ),
    # --- audit ---------------------------------------------------------------------------
    # kopflow/cli/audit.py and kopflow/audit/export.py (kopflow/audit/chain.py's entries are above, under
    # "cli and engine").
    "Action": "Tindakan",
    "Details": "Rincian",
    "{count} audit events": "{count} entri audit",
    "Older events are not shown: use --limit N (0 for all) or --since.": (
        "Entri yang lebih lama tidak ditampilkan: pakai --limit N (0 untuk semua) atau --since."
    ),
    "{option} takes a UTC day (YYYY-MM-DD) or time (YYYY-MM-DDTHH:MM:SS), not {value}": (
        "{option} menerima hari UTC (YYYY-MM-DD) atau waktu UTC (YYYY-MM-DDTHH:MM:SS), "
        "bukan {value}"
    ),
    "Show audit events, oldest first: who did what to which cooperative, when, and with what "
    "details. Without --limit the newest 100 matching events are shown.": (
        "Tampilkan entri audit, yang terlama lebih dulu: siapa melakukan apa terhadap koperasi "
        "mana, kapan, dan dengan rincian apa. Tanpa --limit ditampilkan 100 entri terbaru yang "
        "cocok."
    ),
    "Show only the newest N matching events; 0 shows all.": (
        "Tampilkan hanya N entri terbaru yang cocok; 0 menampilkan semuanya."
    ),
    "Only events about this cooperative (id or village).": (
        "Hanya entri tentang koperasi ini (id atau nama desa)."
    ),
    "Only events by this actor.": "Hanya entri oleh aktor ini.",
    "Only this action, e.g. step.completed; 'step.*' matches a prefix.": (
        "Hanya tindakan ini, misalnya step.completed; 'step.*' cocok dengan awalan."
    ),
    "Only events from this UTC day (YYYY-MM-DD) or time (YYYY-MM-DDTHH:MM:SS).": (
        "Hanya entri sejak hari UTC (YYYY-MM-DD) atau waktu UTC (YYYY-MM-DDTHH:MM:SS) ini."
    ),
    "Only events up to this UTC day (the whole day) or time (inclusive).": (
        "Hanya entri sampai hari UTC ini (sepanjang hari) atau waktu ini (termasuk)."
    ),
    "Only the newest N matching events.": "Hanya N entri terbaru yang cocok.",
    "Recompute the audit chain and report the first broken, missing, inserted or reordered "
    "event by its number (exit code 7). With --checkpoint, also prove that the history up to "
    "each checkpoint is unchanged and not cut short. With --file, check an export without any "
    "database.": (
        "Hitung ulang rantai audit dan laporkan entri pertama yang rusak, hilang, disisipkan "
        "atau berubah urutan beserta nomornya (kode keluar 7). Dengan --checkpoint, buktikan "
        "juga bahwa riwayat sampai setiap checkpoint tidak berubah dan tidak dipotong. Dengan "
        "--file, periksa hasil ekspor tanpa basis data."
    ),
    "A checkpoint kept earlier (repeatable); needs --key.": (
        "Checkpoint yang disimpan sebelumnya (boleh berulang); memerlukan --key."
    ),
    "The public key that signed the checkpoints.": ("Kunci publik yang menandatangani checkpoint."),
    "Check this JSONL export (its manifest and checkpoint beside it), not the database.": (
        "Periksa ekspor JSONL ini (beserta manifes dan checkpoint di sebelahnya), bukan basis data."
    ),
    "Also check that every event is canonical JSON (slower).": (
        "Periksa juga bahwa setiap entri berupa JSON kanonik (lebih lambat)."
    ),
    "--checkpoint needs --key PUBLIC_KEY to check its signature": (
        "--checkpoint memerlukan --key KUNCI_PUBLIK untuk memeriksa tanda tangannya"
    ),
    "the audit log does not verify at event {seq}: {problem}": (
        "log audit gagal diverifikasi pada entri {seq}: {problem}"
    ),
    "Audit log verified: events 1 to {seq}, head hash {hash}.": (
        "Log audit terverifikasi: entri 1 sampai {seq}, hash kepala {hash}."
    ),
    "Matches checkpoint {file} of {timestamp} (event {size}, signed by {key}).": (
        "Cocok dengan checkpoint {file} tanggal {timestamp} (entri {size}, ditandatangani {key})."
    ),
    "checkpoint {file} is for log {origin}; this database holds log {log}": (
        "checkpoint {file} milik log {origin}; basis data ini berisi log {log}"
    ),
    "cannot read {path}: {reason}": "tidak dapat membaca {path}: {reason}",
    "{path} does not exist": "{path} tidak ada",
    "the export does not verify: {problem}": "ekspor gagal diverifikasi: {problem}",
    "the export does not verify at event {seq}: {problem}": (
        "ekspor gagal diverifikasi pada entri {seq}: {problem}"
    ),
    "Export verified: the whole chain, events 1 to {last}, of log {log}.": (
        "Ekspor terverifikasi: seluruh rantai, entri 1 sampai {last}, dari log {log}."
    ),
    "Export verified: {count} selected events (filters {filters}), each hash recomputed, "
    "{links} links between consecutive events checked; a filtered export cannot show that no "
    "event is missing between them.": (
        "Ekspor terverifikasi: {count} entri terpilih (filter {filters}), setiap hash dihitung "
        "ulang, {links} sambungan antar-entri berurutan diperiksa; ekspor yang difilter tidak "
        "dapat menunjukkan bahwa tidak ada entri yang hilang di antaranya."
    ),
    "Checkpoint of {timestamp} (event {size}) is signed by {key} and agrees.": (
        "Checkpoint tanggal {timestamp} (entri {size}) ditandatangani {key} dan cocok."
    ),
    "The checkpoint's signature was NOT checked: give --key PUBLIC_KEY.": (
        "Tanda tangan checkpoint TIDAK diperiksa: berikan --key KUNCI_PUBLIK."
    ),
    "This export has no signed checkpoint: it shows only that the file is consistent.": (
        "Ekspor ini tidak punya checkpoint bertanda tangan: ia hanya menunjukkan bahwa berkasnya "
        "konsisten."
    ),
    "Write audit events to a file. JSONL is the authoritative export: one event per line with "
    "its exact hashed content, plus FILE.checkpoint (signed with --key) and FILE.manifest "
    "(SHA-256 of each file); check it with 'kopflow audit verify --file'. CSV and XLSX are "
    "readable views, safe to open in a spreadsheet.": (
        "Tulis entri audit ke berkas. JSONL adalah ekspor yang sah: satu entri per baris "
        "dengan isi persis yang di-hash, ditambah BERKAS.checkpoint (ditandatangani dengan "
        "--key) dan BERKAS.manifest (SHA-256 setiap berkas); periksa dengan 'kopflow audit "
        "verify --file'. CSV dan XLSX adalah tampilan yang mudah dibaca, aman dibuka di "
        "spreadsheet."
    ),
    "File format.": "Format berkas.",
    "File to write.": "Berkas yang ditulis.",
    "Sign the export's checkpoint with this private key (JSONL).": (
        "Tanda tangani checkpoint ekspor dengan kunci privat ini (JSONL)."
    ),
    "Write a JSONL export without a checkpoint (and without verifying the chain first).": (
        "Tulis ekspor JSONL tanpa checkpoint (dan tanpa memverifikasi rantai lebih dulu)."
    ),
    "--key and --unsigned go with --format jsonl": (
        "--key dan --unsigned hanya untuk --format jsonl"
    ),
    "a JSONL export comes with a signed checkpoint: give --key PRIVATE_KEY (see 'kopflow audit "
    "keygen'), or --unsigned for a bundle without one": (
        "ekspor JSONL disertai checkpoint bertanda tangan: berikan --key KUNCI_PRIVAT (lihat "
        "'kopflow audit keygen'), atau --unsigned untuk paket tanpa checkpoint"
    ),
    "give either --key or --unsigned, not both": ("berikan --key atau --unsigned, jangan keduanya"),
    "{count} audit events written to {path}.": "{count} entri audit ditulis ke {path}.",
    "Checkpoint {path}: event {seq}, signed by {key}.": (
        "Checkpoint {path}: entri {seq}, ditandatangani {key}."
    ),
    "Manifest {path}.": "Manifes {path}.",
    "Verify the audit chain, then sign its head (event number and hash) with your private key. "
    "Keep the checkpoint outside the database: 'kopflow audit verify --checkpoint' later proves "
    "the history up to it is unchanged and not cut short.": (
        "Verifikasi rantai audit, lalu tanda tangani kepalanya (nomor entri dan hash) dengan "
        "kunci privat Anda. Simpan checkpoint di luar basis data: 'kopflow audit verify "
        "--checkpoint' kelak membuktikan bahwa riwayat sampai checkpoint itu tidak berubah dan "
        "tidak dipotong."
    ),
    "Private key file.": "Berkas kunci privat.",
    "Write the checkpoint to this new file (default: print it).": (
        "Tulis checkpoint ke berkas baru ini (bawaan: cetak ke layar)."
    ),
    "{path} exists already; kopflow never overwrites an audit file: choose another name or "
    "remove it": (
        "{path} sudah ada; kopflow tidak pernah menimpa berkas audit: pilih nama lain atau "
        "hapus berkas itu"
    ),
    "the audit chain does not verify at event {seq}: {problem}; nothing was signed": (
        "rantai audit gagal diverifikasi pada entri {seq}: {problem}; tidak ada yang ditandatangani"
    ),
    "Checkpoint of event {seq} written to {path}.": ("Checkpoint entri {seq} ditulis ke {path}."),
    "Make an Ed25519 key pair for signing checkpoints. The private key file is readable only "
    "by you; give the public key to auditors.": (
        "Buat pasangan kunci Ed25519 untuk menandatangani checkpoint. Berkas kunci privat hanya "
        "dapat dibaca oleh Anda; berikan kunci publik kepada auditor."
    ),
    "New private key file.": "Berkas kunci privat baru.",
    "New public key file.": "Berkas kunci publik baru.",
    "Key name, e.g. inspektorat.example/buleleng-2025 (default: kopflow-audit/HOST).": (
        "Nama kunci, misalnya inspektorat.example/buleleng-2025 (bawaan: kopflow-audit/HOST)."
    ),
    "Private key {private} (readable only by you); public key {public}: {vkey}": (
        "Kunci privat {private} (hanya dapat dibaca oleh Anda); kunci publik {public}: {vkey}"
    ),
    "unknown export format {fmt}; use jsonl, csv or xlsx": (
        "format ekspor {fmt} tidak dikenal; pakai jsonl, csv atau xlsx"
    ),
    "the export file name must not contain a newline or a backslash": (
        "nama berkas ekspor tidak boleh berisi baris baru atau garis miring terbalik"
    ),
    "no manifest {path} beside the export; an export is checked with its manifest": (
        "tidak ada manifes {path} di sebelah ekspor; ekspor diperiksa bersama manifesnya"
    ),
    "{path} is not a kopflow export manifest: its first line must start with {prefix}": (
        "{path} bukan manifes ekspor kopflow: baris pertamanya harus diawali {prefix}"
    ),
    "{path}: the first line does not hold a JSON object": (
        "{path}: baris pertama tidak berisi objek JSON"
    ),
    "{path}: malformed line {line}": "{path}: baris tidak sah {line}",
    "the checkpoint is for log {origin}, the export for log {log}": (
        "checkpoint itu milik log {origin}, ekspornya milik log {log}"
    ),
    "the export {name} is not listed in its manifest": (
        "ekspor {name} tidak tercantum dalam manifesnya"
    ),
    "{name} is not listed in the manifest": "{name} tidak tercantum dalam manifes",
    "the checkpoint {name} is missing": "checkpoint {name} tidak ada",
    "{name} does not match its manifest: it was changed": (
        "{name} tidak cocok dengan manifesnya: berkas itu telah diubah"
    ),
    "line {line} is not an export line (after event {seq})": (
        "baris {line} bukan baris ekspor (sesudah entri {seq})"
    ),
    "event {seq} is out of order or repeated (line {line})": (
        "entri {seq} tidak berurutan atau berulang (baris {line})"
    ),
    "event {seq} does not name its own position in the chain": (
        "entri {seq} tidak menyebut posisinya sendiri dalam rantai"
    ),
    "the export ends at event {last} but its manifest names event {head} as the chain head": (
        "ekspor berakhir di entri {last} padahal manifesnya menyebut entri {head} sebagai "
        "kepala rantai"
    ),
    # kopflow/audit/chain.py, added with issue #7's diagnostics
    "event {seq}": "entri {seq}",
    "events {first} to {last}": "entri {first} sampai {last}",
    "missing {events}: the chain ends at event {last} but its head names event {head}": (
        "{events} hilang: rantai berakhir di entri {last} padahal kepalanya menyebut entri {head}"
    ),
    "added outside kopflow: {events}; the chain head still names event {head}": (
        "ditambahkan di luar kopflow: {events}; kepala rantai masih menyebut entri {head}"
    ),
    "missing {events}: the checkpoint of {timestamp} names event {size}, the chain ends at "
    "event {last}": (
        "{events} hilang: checkpoint {timestamp} menyebut entri {size}, sedangkan rantai "
        "berakhir di entri {last}"
    ),
    "added after the export's checkpoint: {events}; the checkpoint names event {size} as the "
    "head": (
        "ditambahkan sesudah checkpoint ekspor: {events}; checkpoint itu menyebut entri {size} "
        "sebagai kepala"
    ),
    # --- partner cli ----------------------------------------------------------------------
    "Plugins may add commands: 'kopflow plugins list' shows them.": (
        "Plugin dapat menambah perintah: 'kopflow plugins list' menampilkannya."
    ),
    "Enroll COOP with one or more partners (e.g. bri pos). Their required steps must then be "
    "done before the cooperative can start operating. Enrolling again changes nothing.": (
        "Daftarkan COOP pada satu mitra atau lebih (mis. bri pos). Langkah wajib mereka harus "
        "selesai sebelum koperasi dapat mulai beroperasi. Mendaftar lagi tidak mengubah apa pun."
    ),
    "Every partner the installed plugins declare: code, name, plugin, and how many required "
    "and optional steps it has.": (
        "Semua mitra yang dinyatakan plugin terpasang: kode, nama, plugin, dan jumlah langkah "
        "wajib dan opsionalnya."
    ),
    "The steps of PARTNER for COOP in order: done, missing (required) or optional, which can "
    "be done now, and the evidence recorded.": (
        "Langkah PARTNER untuk COOP menurut urutan: selesai, belum ada (wajib) atau opsional, "
        "yang dapat dikerjakan sekarang, dan bukti yang tercatat."
    ),
    "How many enrolled cooperatives stand at each step of a partner (or of every partner). A "
    "cooperative stands at the first required step, in the partner's order, that is not done, "
    "or at 'complete'; 'Done' counts those that have done each step, optional ones too.": (
        "Berapa koperasi terdaftar yang berada di tiap langkah sebuah mitra (atau semua mitra). "
        "Koperasi berada di langkah wajib pertama, menurut urutan mitra, yang belum selesai, "
        "atau di 'complete'; 'Selesai' menghitung yang sudah menyelesaikan tiap langkah, "
        "termasuk yang opsional."
    ),
    "Only this partner.": "Hanya mitra ini.",
    "{count} partners": "{count} mitra",
    "Code": "Kode",
    "Plugin": "Plugin",
    "Required steps": "Langkah wajib",
    "Optional steps": "Langkah opsional",
    "Every cooperative": "Semua koperasi",
    "{coop} with {partner}": "{coop} dengan {partner}",
    "#": "#",
    "After": "Sesudah",
    "Can be done now": "Bisa dikerjakan sekarang",
    "{coop} is not enrolled with {partner}: kopflow partner enroll {coop} {partner}": (
        "{coop} belum terdaftar pada {partner}: kopflow partner enroll {coop} {partner}"
    ),
    "Every required step of {partner} is done.": "Semua langkah wajib {partner} sudah selesai.",
    "required": "wajib",
    "every required step done": "semua langkah wajib selesai",
    "Enrolled cooperatives per partner step": "Koperasi terdaftar per langkah mitra",
    "Standing here": "Berada di sini",
    "Done": "Selesai",
    "Warning": "Peringatan",
    "Every plugin found: version, status (ok, disabled, error), partners, the hooks it "
    "implements, the commands it adds and where it was loaded from.": (
        "Semua plugin yang ditemukan: versi, status (ok, disabled, error), mitra, hook yang "
        "diimplementasikan, perintah yang ditambahkan dan dari mana dimuat."
    ),
    "Strict check for CI: one line per problem (a plugin that failed to load or to add its "
    "commands, a hook that does not exist, a setting naming a plugin that is not installed); "
    "exits with status 6 if there is any.": (
        "Pemeriksaan ketat untuk CI: satu baris per masalah (plugin yang gagal dimuat atau gagal "
        "menambah perintahnya, hook yang tidak ada, pengaturan yang menyebut plugin yang tidak "
        "terpasang); keluar dengan status 6 bila ada masalah."
    ),
    "{count} plugins": "{count} plugin",
    "Status": "Status",
    "Hooks (kopflow_...)": "Hook (kopflow_...)",
    "Loaded from": "Dimuat dari",
    "{count} plugins loaded, no problems": "{count} plugin dimuat, tidak ada masalah",
    "KOPFLOW_CONFIG names {path}, which is not a file": (
        "KOPFLOW_CONFIG menyebut {path}, yang bukan berkas"
    ),
    "{path} is not valid TOML: {error}": "{path} bukan TOML yang sah: {error}",
    "{path}: [plugins] must be a table": "{path}: [plugins] harus berupa tabel",
    "{path}: unknown setting {key} in [plugins]; known: {known}": (
        "{path}: pengaturan {key} tidak dikenal di [plugins]; yang dikenal: {known}"
    ),
    "{path}: [plugins] disable must be a list of plugin names": (
        "{path}: [plugins] disable harus berupa daftar nama plugin"
    ),
    "partner {partner} is not installed; its steps cannot be checked": (
        "mitra {partner} tidak terpasang; langkah-langkahnya tidak dapat diperiksa"
    ),
    # --- click's own texts (kopflow.cli routes click's _() through this catalogue) --------
    "Usage:": "Penggunaan:",
    "Show this message and exit.": "Tampilkan pesan ini lalu keluar.",
    "Show the version and exit.": "Tampilkan versi lalu keluar.",
    "Error: {message}": "Galat: {message}",
    "Try '{command} {option}' for help.": "Coba '{command} {option}' untuk bantuan.",
    "Missing option": "Opsi wajib tidak diberikan",
    "Missing argument": "Argumen wajib tidak diberikan",
    "Missing command.": "Perintah belum diberikan.",
    "No such option {name!r}.": "Tidak ada opsi {name!r}.",
    "No such command {name!r}.": "Tidak ada perintah {name!r}.",
    "{value!r} is not one of {choices}.": "{value!r} bukan salah satu dari {choices}.",
}

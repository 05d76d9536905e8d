//! A zip archive of one executable, the shape Lambda's provided.al2023
//! runtime wants (`bootstrap` at the root, mode 0755). Written by hand so that
//! xtask keeps depending on `std` only: the entry is stored uncompressed, with
//! a fixed timestamp, so the same binary always gives the same archive (and
//! Terraform's `source_code_hash` changes only when the code does).

use std::io::Write;
use std::path::Path;

/// The DOS date of 1980-01-01, the format's epoch; the time is midnight.
const DOS_DATE: u16 = (1 << 5) | 1;
/// "Version made by": Unix (3), spec 2.0, so the mode bits are read.
const MADE_BY_UNIX: u16 = (3 << 8) | 20;
const VERSION_NEEDED: u16 = 20;

/// Writes `archive` holding `data` as `name`, a regular file of mode 0755.
pub fn write_executable(archive: &Path, name: &str, data: &[u8]) -> std::io::Result<()> {
    let size = u32::try_from(data.len())
        .map_err(|_| std::io::Error::other("entries of 4 GiB and more need zip64"))?;
    let name_len = u16::try_from(name.len()).map_err(std::io::Error::other)?;
    let crc = crc32(data);
    let mut out = Vec::with_capacity(data.len() + 128);

    // Local file header, then the data.
    out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
    for field in [VERSION_NEEDED, 0, 0, 0, DOS_DATE] {
        out.extend_from_slice(&field.to_le_bytes()); // version, flags, stored, time, date
    }
    for field in [crc, size, size] {
        out.extend_from_slice(&field.to_le_bytes());
    }
    out.extend_from_slice(&name_len.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes()); // no extra field
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(data);

    // Central directory: the one entry, with its Unix mode.
    let directory_offset = u32::try_from(out.len()).map_err(std::io::Error::other)?;
    out.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
    for field in [MADE_BY_UNIX, VERSION_NEEDED, 0, 0, 0, DOS_DATE] {
        out.extend_from_slice(&field.to_le_bytes());
    }
    for field in [crc, size, size] {
        out.extend_from_slice(&field.to_le_bytes());
    }
    for field in [name_len, 0, 0, 0, 0] {
        out.extend_from_slice(&field.to_le_bytes()); // name, extra, comment, disk, internal attrs
    }
    out.extend_from_slice(&(0o100_755u32 << 16).to_le_bytes()); // regular file, rwxr-xr-x
    out.extend_from_slice(&0u32.to_le_bytes()); // the local header's offset
    out.extend_from_slice(name.as_bytes());
    let directory_size =
        u32::try_from(out.len()).map_err(std::io::Error::other)? - directory_offset;

    // End of central directory.
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    for field in [0u16, 0, 1, 1] {
        out.extend_from_slice(&field.to_le_bytes()); // disks, entries here, entries
    }
    out.extend_from_slice(&directory_size.to_le_bytes());
    out.extend_from_slice(&directory_offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes()); // no comment

    let mut file = std::fs::File::create(archive)?;
    file.write_all(&out)?;
    file.sync_all()
}

/// CRC-32 (IEEE 802.3, reflected, as zip uses it).
fn crc32(data: &[u8]) -> u32 {
    let mut table = [0u32; 256];
    for (i, entry) in table.iter_mut().enumerate() {
        let mut c = i as u32;
        for _ in 0..8 {
            c = if c & 1 == 1 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
        }
        *entry = c;
    }
    !data.iter().fold(!0u32, |crc, &byte| {
        table[((crc ^ u32::from(byte)) & 0xFF) as usize] ^ (crc >> 8)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
    }

    /// Python's `zipfile` (reading as `unzip` and Lambda do) finds the one
    /// entry with its exact bytes, a valid CRC and mode 0755.
    #[test]
    fn python_reads_the_archive_back() {
        let dir = std::env::temp_dir().join(format!("xtask-zip-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (archive, original) = (dir.join("f.zip"), dir.join("original"));
        let data: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 251) as u8).collect();
        std::fs::write(&original, &data).unwrap();
        write_executable(&archive, "bootstrap", &data).unwrap();
        let first = std::fs::read(&archive).unwrap();
        write_executable(&archive, "bootstrap", &data).unwrap();
        assert_eq!(first, std::fs::read(&archive).unwrap(), "deterministic");

        let check = "import zipfile,sys\n\
            z=zipfile.ZipFile(sys.argv[1])\n\
            assert z.testzip() is None\n\
            [i]=z.infolist()\n\
            same=z.read(i)==open(sys.argv[2],'rb').read()\n\
            print(i.filename, oct(i.external_attr>>16), i.file_size, same)";
        let out = std::process::Command::new("python3")
            .args(["-c", check])
            .args([&archive, &original])
            .output()
            .expect("python3 runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            "bootstrap 0o100755 100000 True"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

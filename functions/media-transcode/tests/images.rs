//! Stickers and thumbnails through the real ffmpeg: generated pictures and
//! clips in, WebP and JPEG out, judged by ffprobe.

mod support;

use std::fs;

use media_transcode::{StickerOptions, ThumbnailOptions, Transcoder};
use support::media::{clip, ffprobe_json, leftovers, picture, require_ffmpeg, stream};

fn transcoder(scratch: &std::path::Path) -> Transcoder {
    Transcoder::new(require_ffmpeg()).with_scratch_dir(scratch)
}

#[test]
fn a_wide_png_becomes_a_512_square_webp_with_transparent_padding() {
    let dir = tempfile::tempdir().unwrap();
    let input = picture(dir.path(), "wide.png", "320x160", &[]);
    let output = dir.path().join("sticker.webp");

    let sticker = Transcoder::new(require_ffmpeg())
        .sticker(&input, &output, &StickerOptions::default())
        .unwrap();

    assert_eq!((sticker.width, sticker.height), (512, 512));
    assert_eq!(sticker.mime_type, "image/webp");
    assert!(sticker.size_bytes <= 100_000, "{sticker:?}");
    assert_eq!(sticker.size_bytes, fs::metadata(&output).unwrap().len());
    let probe = ffprobe_json(&output);
    let v = stream(&probe, "video").unwrap();
    assert_eq!(v["codec_name"], "webp");
    assert_eq!(
        (v["width"].as_u64(), v["height"].as_u64()),
        (Some(512), Some(512))
    );
    // Decode to RGBA and look at the top-left corner (padding) and the
    // centre (the picture).
    let out = std::process::Command::new(require_ffmpeg().path())
        .args(["-v", "error", "-i"])
        .arg(&output)
        .args(["-f", "rawvideo", "-pix_fmt", "rgba", "-"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout.len(), 512 * 512 * 4);
    let alpha = |x: usize, y: usize| out.stdout[(y * 512 + x) * 4 + 3];
    assert_eq!(alpha(0, 0), 0, "padding is transparent");
    assert_eq!(alpha(256, 256), 255, "the picture is opaque");
    assert_eq!(
        leftovers(dir.path(), &["wide.png", "sticker.webp"]),
        Vec::<String>::new()
    );
}

#[test]
fn a_gif_and_a_jpeg_make_stickers_and_big_ones_step_down_in_quality() {
    let dir = tempfile::tempdir().unwrap();
    let gif = clip(dir.path(), "anim.gif", 1, "64x64", false, &[]);
    let transcoder = Transcoder::new(require_ffmpeg());
    let sticker = transcoder
        .sticker(
            &gif,
            &dir.path().join("gif.webp"),
            &StickerOptions::default(),
        )
        .unwrap();
    assert_eq!((sticker.width, sticker.height), (512, 512));

    // Noise compresses badly: about 260 KB at quality 100, 130 KB at 70,
    // 55 KB at 10.
    let noisy = picture(
        dir.path(),
        "noisy.jpg",
        "512x512",
        &["-vf", "noise=alls=100:allf=t", "-q:v", "2"],
    );
    let options = StickerOptions {
        quality: 100,
        max_bytes: 150_000,
    };
    let output = dir.path().join("noisy.webp");
    let sticker = transcoder.sticker(&noisy, &output, &options).unwrap();
    assert!(sticker.quality < 100, "{sticker:?}");
    assert!(sticker.size_bytes <= 150_000, "{sticker:?}");

    let options = StickerOptions {
        quality: 20,
        max_bytes: 20_000,
    };
    let output = dir.path().join("too-big.webp");
    let error = transcoder.sticker(&noisy, &output, &options).unwrap_err();
    assert_eq!(error.kind(), "OutputTooLarge", "{error}");
    assert!(error.to_string().contains("20000"), "{error}");
    assert!(!output.exists());
}

#[test]
fn thumbnails_of_an_image_and_a_video_are_small_jpegs() {
    let dir = tempfile::tempdir().unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let transcoder = transcoder(scratch.path());

    let image = picture(dir.path(), "tall.png", "200x400", &[]);
    let thumbnail = transcoder
        .thumbnail(&image, &ThumbnailOptions::default())
        .unwrap();
    assert_eq!((thumbnail.width, thumbnail.height), (50, 100));
    let path = dir.path().join("thumb.jpg");
    fs::write(&path, &thumbnail.jpeg).unwrap();
    let probe = ffprobe_json(&path);
    let v = stream(&probe, "video").unwrap();
    assert_eq!(v["codec_name"], "mjpeg");
    assert_eq!(
        (v["width"].as_u64(), v["height"].as_u64()),
        (Some(50), Some(100))
    );

    let video = clip(dir.path(), "clip.mp4", 1, "64x48", true, &["-shortest"]);
    let options = ThumbnailOptions {
        max_dimension: 32,
        quality: 10,
    };
    let thumbnail = transcoder.thumbnail(&video, &options).unwrap();
    assert_eq!((thumbnail.width, thumbnail.height), (32, 24));
    assert!(thumbnail.jpeg.len() < 10_000);

    // Small images are not enlarged.
    let small = picture(dir.path(), "small.png", "40x30", &[]);
    let thumbnail = transcoder
        .thumbnail(&small, &ThumbnailOptions::default())
        .unwrap();
    assert_eq!((thumbnail.width, thumbnail.height), (40, 30));
    assert_eq!(leftovers(scratch.path(), &[]), Vec::<String>::new());
}

#[test]
fn broken_images_are_typed_errors_and_leave_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let transcoder = transcoder(scratch.path());
    let png = fs::read(picture(dir.path(), "good.png", "64x64", &[])).unwrap();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("text.png", b"hello, I am not a picture".to_vec()),
        ("truncated.png", png[..40].to_vec()),
        (
            "random.jpg",
            (0..2048u32).map(|n| (n * 7919 % 251) as u8).collect(),
        ),
    ];
    for (name, content) in &cases {
        let input = dir.path().join(name);
        fs::write(&input, content).unwrap();
        let error = transcoder
            .sticker(
                &input,
                &dir.path().join("out.webp"),
                &StickerOptions::default(),
            )
            .unwrap_err();
        assert!(error.is_bad_request(), "{name}: {error}");
        assert_eq!(error.kind(), "FfmpegFailed", "{name}: {error}");
        let error = transcoder
            .thumbnail(&input, &ThumbnailOptions::default())
            .unwrap_err();
        assert_eq!(error.kind(), "FfmpegFailed", "{name}: {error}");
    }
    let missing = transcoder
        .thumbnail(&dir.path().join("nope.png"), &ThumbnailOptions::default())
        .unwrap_err();
    assert_eq!(missing.kind(), "InputNotFound");
    let mut keep: Vec<&str> = cases.iter().map(|(name, _)| *name).collect();
    keep.push("good.png");
    assert_eq!(leftovers(dir.path(), &keep), Vec::<String>::new());
    assert_eq!(leftovers(scratch.path(), &[]), Vec::<String>::new());
}

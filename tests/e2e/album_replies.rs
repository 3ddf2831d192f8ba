//! `/transition <prompt>` and `/fusion <prompt>` as replies to an album: the album's photos
//! (kept since it arrived, also after it made a request of its own) make the video.

use crate::support::app::{TestBot, private_user};

fn jpeg(len: usize, fill: u8) -> Vec<u8> {
    let mut bytes = vec![0xFF, 0xD8, 0xFF, 0xE0];
    bytes.resize(len, fill);
    bytes
}

fn uploaded_sizes(bot: &TestBot) -> Vec<usize> {
    bot.px
        .uploaded_images()
        .into_iter()
        .map(|(_, size)| size)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transition_and_fusion_replying_to_an_album_use_its_photos() {
    let bot = TestBot::start().await;
    let (chat, user) = private_user(3401);
    // An album without a caption waits for a reply.
    let album = bot
        .tg
        .send_album(chat, &user, "", vec![jpeg(5_000, 1), jpeg(6_000, 2)]);
    let request = bot
        .tg
        .send_reply(chat, &user, "/transition day turns to night", album[1]);
    bot.wait_for_videos(chat, 1).await;
    let videos: Vec<_> = bot
        .tg
        .bot_messages(chat)
        .into_iter()
        .filter(|m| m.video_file_id.is_some())
        .collect();
    assert_eq!(videos[0].reply_to, Some(request));
    let made = bot.px.videos();
    assert_eq!(
        (made[0].kind.as_str(), made[0].prompt.as_str()),
        ("transition", "day turns to night")
    );
    assert_eq!(uploaded_sizes(&bot), [5_000, 6_000], "the first photo first");

    bot.tg.send_reply(
        chat,
        &user,
        "/fusion @cat naps on @beach --bg beach --model v4.5",
        album[0],
    );
    bot.wait_for_videos(chat, 2).await;
    let submit = bot
        .px
        .requests()
        .into_iter()
        .find(|r| r.path.ends_with("/fusion/generate"))
        .expect("the fusion submit");
    assert_eq!(submit.body["prompt"], "@cat naps on @beach");
    assert_eq!(submit.body["image_references"][1]["type"], "background");

    // An album that made its own request can be replied to as well.
    let captioned = bot.tg.send_album(
        chat,
        &user,
        "sunrise over the sea",
        vec![jpeg(7_000, 3), jpeg(8_000, 4)],
    );
    bot.wait_for_videos(chat, 3).await;
    bot.tg
        .send_reply(chat, &user, "/transition sunset over the sea", captioned[0]);
    bot.wait_for_videos(chat, 4).await;
    let made = bot.px.videos();
    assert_eq!(made[3].prompt, "sunset over the sea");
    assert_eq!(&uploaded_sizes(&bot)[6..], [7_000, 8_000]);

    // Not a reply to an album, or a fusion prompt that names no photo: the expected form.
    bot.tg.send_text(chat, &user, "/transition day turns to night");
    bot.wait_for_text(chat, "reply to such an album with /transition")
        .await;
    bot.tg
        .send_reply(chat, &user, "/fusion a cat on a beach", album[0]);
    bot.wait_for_text(chat, "Or reply to the album with /fusion")
        .await;
    assert_eq!(bot.px.videos().len(), 4);
}

// The social screens in the browser: a post with an image (alt text prompted, the other
// person sees it arrive live with its blurhash placeholder, the viewer dialog), a poll
// voted on, edit with its history, delete-and-redraft, a locked account followed and the
// request approved, a direct-message chat with presence, the typing indicator and live
// delivery, profile tabs, mute and block, the list and public timelines, and every new
// screen in Indonesian. axe-core checks each screen; screenshots go to web/screenshots/. The
// screens are opened inside the app (e2e/navigation.ts), as its links do.
import { fileURLToPath } from "node:url";
import { expect, test } from "./diagnostics";
import { openInApp } from "./navigation";
import { shoot } from "./screens";
import { apiAs, signUpAndSignIn, tokenOf } from "./social-helpers";

const run = `s${Date.now().toString(36)}`;
const IMAGE = fileURLToPath(new URL("./fixtures/kopi.png", import.meta.url));

test.setTimeout(480_000);

test("media, polls, edits, locked follow, direct-message chat, profiles, lists", async ({ browser, request }) => {
  const alice = await signUpAndSignIn(browser, `alice${run}`);
  const bob = await signUpAndSignIn(browser, `bob${run}`);
  const aliceToken = await tokenOf(alice);
  const bobToken = await tokenOf(bob);

  // Alice's account is locked (its setting belongs to the settings screens).
  await apiAs(request, aliceToken, "PATCH", "/api/v1/accounts/update_credentials", { locked: true });

  // Bob asks to follow; Alice approves on the follow requests screen.
  await openInApp(bob, `/@alice${run}`);
  await bob.getByRole("button", { name: "Follow", exact: true }).click();
  await expect(bob.getByRole("button", { name: "Cancel request" })).toBeVisible();
  await openInApp(alice, `/@alice${run}`);
  await alice.getByRole("link", { name: "Follow requests" }).click();
  await expect(alice.getByRole("heading", { name: "Follow requests" })).toBeVisible();
  await expect(alice.getByText(`@bob${run}`)).toBeVisible();
  await shoot(alice, "social-follow-requests-en");
  await alice.getByRole("button", { name: `Approve @bob${run}` }).click();
  await expect(alice.getByText("Approved")).toBeVisible();
  await bob.reload();
  await expect(bob.getByRole("button", { name: "Unfollow" })).toBeVisible();
  // Alice follows Bob back (presence is shown for the accounts one follows).
  await openInApp(alice, `/@bob${run}`);
  await alice.getByRole("button", { name: "Follow", exact: true }).click();
  await expect(alice.getByRole("button", { name: "Unfollow" })).toBeVisible();
  // The mute dialog (its choice is tried in Indonesian below); Escape leaves it unchanged.
  await alice.getByRole("button", { name: "Mute", exact: true }).click();
  await expect(alice.getByRole("dialog", { name: `Mute @bob${run}?` })).toBeVisible();
  await shoot(alice, "social-mute-en");
  await alice.keyboard.press("Escape");
  await expect(alice.getByRole("button", { name: "Mute", exact: true })).toBeFocused();

  // Alice posts with an image: upload progress, then the alt-text prompt, then the post.
  await openInApp(bob, "/");
  await expect(bob.getByLabel("Text of your post")).toBeVisible();
  await openInApp(alice, "/");
  const text = `A gradient ${run}`;
  await alice.getByLabel("Text of your post").fill(text);
  await alice.locator(".compose input[type=file]").setInputFiles(IMAGE);
  const alt = alice.getByLabel("Description of attachment 1 (alt text)");
  await expect(alt).toBeVisible();
  await expect(alice.locator(".uploads img")).toBeVisible();
  await alice.getByRole("button", { name: "Post", exact: true }).click();
  await expect(alice.getByText("Some media have no description.")).toBeVisible();
  await shoot(alice, "social-compose-media-en");
  await alice.getByRole("button", { name: "Add descriptions" }).click();
  await expect(alt).toBeFocused();
  await alt.fill("A gradient from blue to orange");
  await alice.getByRole("button", { name: "Post", exact: true }).click();
  const alicePost = alice.locator(".status", { hasText: text });
  await expect(alicePost.getByRole("img", { name: "A gradient from blue to orange" })).toBeVisible();

  // Bob sees it arrive live, with its blurhash placeholder under the image.
  const bar = bob.getByRole("button", { name: "1 new post" });
  await expect(bar).toBeVisible();
  await bar.click();
  const bobPost = bob.locator(".status", { hasText: text });
  const thumb = bobPost.getByRole("button", { name: "Open image: A gradient from blue to orange" });
  await expect(thumb).toBeVisible();
  await expect(thumb).toHaveAttribute("data-blurhash", "");
  expect(await thumb.evaluate((el) => getComputedStyle(el).backgroundImage)).toMatch(/^url\("data:image\/png/);
  await expect(bobPost.getByRole("img", { name: "A gradient from blue to orange" })).toBeVisible();
  await shoot(bob, "social-media-en");
  // The viewer: a dialog that takes focus, closes with Escape and gives focus back.
  await thumb.click();
  const viewer = bob.getByRole("dialog", { name: "Media 1 of 1" });
  await expect(viewer).toBeVisible();
  await expect(viewer.getByRole("button", { name: "Close" })).toBeFocused();
  await expect(viewer.getByText("A gradient from blue to orange")).toBeVisible();
  await shoot(bob, "social-viewer-en");
  await bob.keyboard.press("Escape");
  await expect(viewer).toHaveCount(0);
  await expect(thumb).toBeFocused();

  // A poll: Alice asks, Bob votes and sees the results.
  await alice.getByLabel("Text of your post").fill(`Kopi or teh? ${run}`);
  await alice.getByRole("button", { name: "Add a poll" }).click();
  await alice.getByLabel("Choice 1", { exact: true }).fill("Kopi");
  await alice.getByLabel("Choice 2", { exact: true }).fill("Teh");
  await alice.getByLabel("Open for").selectOption("3600");
  await shoot(alice, "social-compose-poll-en");
  await alice.getByRole("button", { name: "Post", exact: true }).click();
  await expect(alice.locator(".status", { hasText: `Kopi or teh? ${run}` })).toBeVisible();
  await bob.getByRole("button", { name: "1 new post" }).click();
  const pollCard = bob.locator(".status", { hasText: `Kopi or teh? ${run}` });
  await pollCard.getByLabel("Teh").check();
  await pollCard.getByRole("button", { name: "Vote" }).click();
  await expect(pollCard.getByText("100%")).toBeVisible();
  await expect(pollCard.getByText("(your choice)")).toHaveCount(1);
  await expect(pollCard.getByText("1 person")).toBeVisible();
  await shoot(bob, "social-poll-en");

  // Edit: the post changes, is marked edited, and its history shows both versions.
  await alicePost.getByRole("button", { name: "More actions" }).click();
  await alice.keyboard.press("Escape"); // the menu closes, focus back on its button
  await expect(alicePost.getByRole("button", { name: "Edit", exact: true })).toHaveCount(0);
  await expect(alicePost.getByRole("button", { name: "More actions" })).toBeFocused();
  await alicePost.getByRole("button", { name: "More actions" }).click();
  await alicePost.getByRole("button", { name: "Edit", exact: true }).click();
  await expect(alice.getByText("Editing your post")).toBeVisible();
  await expect(alice.getByLabel("Text of your post")).toHaveValue(text);
  await alice.getByLabel("Text of your post").fill(`${text} (edited)`);
  await alice.getByRole("button", { name: "Save changes" }).click();
  const edited = alice.locator(".status", { hasText: `${text} (edited)` });
  await expect(edited).toHaveCount(1);
  await edited.getByRole("button", { name: "Edited" }).click();
  const history = alice.getByRole("dialog", { name: "Edit history" });
  await expect(history.getByText(`${text} (edited)`)).toBeVisible();
  await expect(history.getByText("Original")).toBeVisible();
  await shoot(alice, "social-history-en");
  await history.getByRole("button", { name: "Close" }).click();

  // Delete and redraft: the post goes, its text comes back in the compose box, posted again once.
  const draftText = `Second thoughts ${run}`;
  await alice.getByLabel("Text of your post").fill(draftText);
  await alice.getByRole("button", { name: "Post", exact: true }).click();
  const draft = alice.locator(".status", { hasText: draftText });
  await expect(draft).toHaveCount(1);
  await draft.getByRole("button", { name: "More actions" }).click();
  await draft.getByRole("button", { name: "Delete and redraft" }).click();
  await alice.getByRole("dialog", { name: "Delete and redraft" }).getByRole("button", { name: "Delete and redraft" }).click();
  await expect(alice.getByText("Your post was deleted; write it again here")).toBeVisible();
  await expect(alice.getByLabel("Text of your post")).toHaveValue(draftText);
  await expect(draft).toHaveCount(0);
  await alice.getByLabel("Text of your post").fill(`${draftText}, better`);
  await alice.getByRole("button", { name: "Post", exact: true }).click();
  await expect(alice.locator(".status", { hasText: `${draftText}, better` })).toHaveCount(1);
  const mine = (await apiAs(request, aliceToken, "GET", `/api/v1/accounts/verify_credentials`)) as { id: string };
  const posts = (await apiAs(request, aliceToken, "GET", `/api/v1/accounts/${mine.id}/statuses?limit=40`)) as { content: string }[];
  expect(posts.filter((p) => p.content.includes(draftText))).toHaveLength(1);

  // A direct-message chat: Bob writes first from Alice's profile.
  await alice.getByRole("link", { name: "Messages" }).click();
  await expect(alice.getByRole("heading", { name: "Messages" })).toBeVisible();
  await openInApp(bob, `/@alice${run}`);
  await bob.getByRole("link", { name: "Message", exact: true }).click();
  await expect(bob.getByRole("heading", { name: `alice${run}` })).toBeVisible();
  await bob.getByLabel("Your message").fill(`Hi Alice, kopi later? ${run}`);
  await bob.getByRole("button", { name: "Send" }).click();
  await bob.waitForURL(/\/messages\/\d+$/);
  await expect(bob.locator(".bubble-row.mine", { hasText: "Hi Alice, kopi later?" })).toBeVisible();
  // It reaches Alice's conversation list live, unread.
  const row = alice.locator(".conversations li", { hasText: `bob${run}` });
  await expect(row).toHaveClass(/unread/);
  await expect(row).toContainText("Hi Alice, kopi later?");
  await expect(alice.getByRole("link", { name: "Messages 1 unread conversation" })).toBeVisible();
  await shoot(alice, "social-messages-en");
  await row.getByRole("link").click();
  await expect(alice.locator(".bubble-row:not(.mine)", { hasText: "Hi Alice, kopi later?" })).toBeVisible();
  // Presence: Bob is online (Alice follows him and he is connected).
  await expect(alice.locator(".chat-people .presence.online")).toHaveText("Online");
  await expect(alice.getByRole("link", { name: "Messages", exact: true })).toBeVisible(); // read now
  // Typing: Alice types, Bob sees it; her message arrives live and the indicator goes.
  await alice.getByLabel("Your message").pressSequentially("Sure, at ten", { delay: 30 });
  await expect(bob.getByText(`alice${run} is typing…`)).toBeVisible();
  await shoot(bob, "social-chat-typing-en");
  await alice.getByLabel("Your message").press("Enter");
  await expect(bob.locator(".bubble-row:not(.mine)", { hasText: "Sure, at ten" })).toBeVisible();
  await expect(bob.getByText(`alice${run} is typing…`)).toHaveCount(0);
  await expect(alice.locator(".bubble-row.mine", { hasText: "Sure, at ten" })).toBeVisible();
  // A picture in the chat, with its description.
  await alice.locator(".chat-compose input[type=file]").setInputFiles(IMAGE);
  await alice.getByLabel("Description of the attachment (alt text)").fill("The colours of the morning");
  await alice.getByRole("button", { name: "Send" }).click();
  await expect(bob.locator(".bubble-row:not(.mine)").getByRole("img", { name: "The colours of the morning" })).toBeVisible();
  await expect(alice.locator(".chat-attachment")).toHaveCount(0);
  await shoot(alice, "social-chat-en");
  // Read: opening it marked it read at the server.
  const conversations = (await apiAs(request, aliceToken, "GET", "/api/v1/conversations")) as { unread: boolean }[];
  expect(conversations[0]!.unread).toBe(false);
  // Offline: a message is pending, then sent once when back online.
  await bob.context().setOffline(true);
  await bob.getByLabel("Your message").fill(`Offline hello ${run}`);
  await bob.getByRole("button", { name: "Send" }).click();
  await expect(bob.locator(".bubble-row.pending", { hasText: "Offline hello" })).toBeVisible();
  await bob.context().setOffline(false);
  await expect(alice.locator(".bubble-row:not(.mine)", { hasText: "Offline hello" })).toBeVisible();
  await expect(bob.locator(".bubble-row.pending")).toHaveCount(0);
  const thread = (await apiAs(request, bobToken, "GET", "/api/v1/conversations")) as { last_status: { id: string } }[];
  const context = (await apiAs(request, bobToken, "GET", `/api/v1/statuses/${thread[0]!.last_status.id}/context`)) as {
    ancestors: { content: string }[];
  };
  const all = [...context.ancestors.map((s) => s.content)];
  expect(all.filter((c) => c.includes("Offline hello"))).toHaveLength(0); // it is the last one
  expect(all.filter((c) => c.includes("Hi Alice"))).toHaveLength(1);

  // Profile tabs: the media tab shows the post with the image, not the poll.
  await openInApp(bob, `/@alice${run}`);
  await bob.getByRole("tab", { name: "Media" }).click();
  await expect(bob.locator(".status", { hasText: text })).toBeVisible();
  await expect(bob.locator(".status", { hasText: "Kopi or teh?" })).toHaveCount(0);
  await bob.getByRole("tab", { name: "Media" }).press("ArrowLeft");
  await expect(bob.getByRole("tab", { name: "Posts and replies" })).toHaveAttribute("aria-selected", "true");
  await expect(bob.locator(".status", { hasText: "Kopi or teh?" })).toBeVisible();
  await shoot(bob, "social-profile-en");

  // A list of Bob's with Alice in it: its timeline gets her next post live.
  const list = (await apiAs(request, bobToken, "POST", "/api/v1/lists", { title: `Kopi people ${run}` })) as { id: string };
  await apiAs(request, bobToken, "POST", `/api/v1/lists/${list.id}/accounts`, { account_ids: [mine.id] });
  await openInApp(bob, `/lists/${list.id}`);
  await expect(bob.getByRole("heading", { name: `Kopi people ${run}` })).toBeVisible();
  await expect(bob.locator(".status", { hasText: text })).toBeVisible();
  await openInApp(alice, "/");
  await alice.getByLabel("Text of your post").fill(`For the list ${run}`);
  await alice.getByRole("button", { name: "Post", exact: true }).click();
  await bob.getByRole("button", { name: "1 new post" }).click();
  await expect(bob.locator(".status", { hasText: `For the list ${run}` })).toBeVisible();
  await shoot(bob, "social-list-en");

  // The public timeline, live from the public stream.
  await bob.getByRole("link", { name: "Everywhere" }).click();
  await expect(bob.locator(".status", { hasText: `For the list ${run}` })).toBeVisible();
  await alice.getByLabel("Text of your post").fill(`For everyone ${run}`);
  await alice.getByRole("button", { name: "Post", exact: true }).click();
  await expect(bob.getByRole("button", { name: "1 new post" })).toBeVisible();
  await shoot(bob, "social-public-en");

  // Indonesian: the new screens' strings change.
  await bob.getByRole("link", { name: "Settings" }).click();
  await bob.getByLabel("Language").selectOption("id");
  await bob.getByRole("link", { name: "Pesan" }).click();
  await expect(bob.getByRole("heading", { name: "Pesan" })).toBeVisible();
  await shoot(bob, "social-messages-id");
  await bob.locator(".conversations a").first().click();
  await expect(bob.getByRole("button", { name: "Kirim" })).toBeVisible();
  await expect(bob.getByText("Daring")).toBeVisible();
  await shoot(bob, "social-chat-id");
  await bob.getByRole("link", { name: "Beranda" }).click();
  await expect(bob.locator(".status", { hasText: "Kopi or teh?" }).getByText("100%")).toBeVisible();
  await shoot(bob, "social-home-media-poll-id");
  await bob.locator(".status", { hasText: `${text} (edited)` }).getByRole("button", { name: "Disunting" }).click();
  await expect(bob.getByRole("dialog", { name: "Riwayat suntingan" }).getByText("Versi asli")).toBeVisible();
  await shoot(bob, "social-history-id");
  await bob.keyboard.press("Escape");
  await bob.getByRole("link", { name: "Semua server" }).click();
  await shoot(bob, "social-public-id");
  await openInApp(bob, `/lists/${list.id}`);
  await expect(bob.getByRole("heading", { name: `Kopi people ${run}` })).toBeVisible();
  await shoot(bob, "social-list-id");
  await openInApp(bob, `/@alice${run}`);
  await expect(bob.getByRole("tab", { name: "Kiriman dan balasan" })).toBeVisible();
  await shoot(bob, "social-profile-id");
  await bob.getByRole("tab", { name: "Foto & video" }).click();
  await bob.locator(".status", { hasText: text }).getByRole("button", { name: /^Buka gambar/ }).click();
  await expect(bob.getByRole("dialog", { name: "Media 1 dari 1" })).toBeVisible();
  await shoot(bob, "social-viewer-id");
  await bob.keyboard.press("Escape");
  await openInApp(bob, "/follow_requests");
  await expect(bob.getByText("Tidak ada yang menunggu persetujuanmu.")).toBeVisible();
  await shoot(bob, "social-follow-requests-id");
  await openInApp(bob, "/");
  await bob.getByRole("button", { name: "Buat jajak pendapat" }).click();
  await expect(bob.getByRole("button", { name: "Tambah media" })).toBeDisabled(); // not both
  await expect(bob.getByLabel("Pilihan 1", { exact: true })).toBeVisible();
  await shoot(bob, "social-compose-poll-id");
  await bob.getByRole("button", { name: "Hapus jajak pendapat" }).click();
  await bob.locator(".compose input[type=file]").setInputFiles(IMAGE);
  await expect(bob.getByLabel("Keterangan lampiran 1 (teks alternatif)")).toBeVisible();
  await shoot(bob, "social-compose-media-id");

  // Mute for an hour, then block: the profile says so, and the buttons turn around.
  await openInApp(bob, `/@alice${run}`);
  await bob.getByRole("button", { name: "Bisukan" }).click();
  const mute = bob.getByRole("dialog", { name: `Bisukan @alice${run}?` });
  await mute.getByLabel("Berapa lama").selectOption("3600");
  await shoot(bob, "social-mute-id");
  await mute.getByRole("button", { name: "Bisukan" }).click();
  await expect(bob.getByRole("button", { name: "Batal bisukan" })).toBeVisible();
  const [muted] = (await apiAs(request, bobToken, "GET", `/api/v1/accounts/relationships?id[]=${mine.id}`)) as { muting: boolean }[];
  expect(muted!.muting).toBe(true);
  const mutes = (await apiAs(request, bobToken, "GET", "/api/v1/mutes")) as { id: string; mute_expires_at?: string | null }[];
  expect(mutes.find((m) => m.id === mine.id)?.mute_expires_at).toBeTruthy();
  await bob.getByRole("button", { name: "Blokir" }).click();
  await bob.getByRole("dialog", { name: `Blokir @alice${run}?` }).getByRole("button", { name: "Blokir" }).click();
  await expect(bob.getByRole("button", { name: "Buka blokir" })).toBeVisible();
  await expect(bob.getByText("Akun ini kamu blokir.")).toBeVisible();
  await shoot(bob, "social-profile-blocked-id");
});

from tests.social_factories import post_status, user_with_token


async def test_post(app, client):
    alice, token = await user_with_token(app, "alice")
    bob, _ = await user_with_token(app, "bob")
    s = await post_status(client, token, "Hi @bob and @nobody #Python https://example.com/x <script>alert(1)</script>")
    print(s)
    assert s["mentions"][0]["username"] == "bob"

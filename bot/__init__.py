"""The Telegram bot: questions from a chat answered with cited passages (see issue: the Telegram bot)."""

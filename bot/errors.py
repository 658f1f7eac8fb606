"""Kept apart from the bot itself so the CLI can catch it without importing python-telegram-bot."""


class BotStartError(Exception):
    """The bot cannot start; the message says what to do, in one sentence."""

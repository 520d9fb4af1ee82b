"""The bot's conversations; each state is a question the bot is waiting to have answered."""

from aiogram.fsm.state import State, StatesGroup


class Registration(StatesGroup):
    waiting_for_name = State()


class Renaming(StatesGroup):
    waiting_for_new_name = State()


class Forgetting(StatesGroup):
    waiting_for_confirmation = State()

"""Quiz: practice, a 10-question test and two exercises, every code answer checked by running PyTorch."""

import streamlit as st

from pages.parts import quiz_lab_ui, quiz_predict_ui, quiz_ui
from resnet_core.quiz import practice_set

st.title(":material/quiz: Quiz: skip connections and shapes")
st.write(
    "Check what you learned about ResNet's skip connections. **Practice** goes through every question "
    "with hints and worked solutions; **Test** asks ten questions and scores you by difficulty. The two "
    "exercises run real PyTorch: build a block in the **shape-mismatch lab**, or **predict the output** "
    "of a tiny residual block. Every answer that depends on code was found by running that code."
)

questions = quiz_ui.questions()
practice, test, lab, predict = st.tabs(
    [
        ":material/school: Practice",
        ":material/timer: Test",
        ":material/science: Shape-mismatch lab",
        ":material/psychology: Predict the output",
    ]
)
with practice:
    quiz_ui.practice_ui(practice_set(questions))
with test:
    quiz_ui.test_ui(questions)
with lab:
    quiz_lab_ui.lab_ui()
with predict:
    quiz_predict_ui.predict_ui()

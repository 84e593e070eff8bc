# The catbreed function: AWS Lambda container image, Python 3.12.
# Build: docker build -t catbreed .   Run: docker run -p 9000:8080 catbreed
# Then:  python test.py tests/fixtures/cat_chelsea.jpg   (the emulator on port 9000)
FROM public.ecr.aws/lambda/python:3.12

# Inference only: no tensorflow, no torch (see requirements-runtime.txt), then without the
# parts of LiteRT that are never loaded (scripts/slim_runtime.sh).
COPY requirements-runtime.txt scripts/slim_runtime.sh /tmp/build/
RUN pip install --no-cache-dir --target "${LAMBDA_TASK_ROOT}" -r /tmp/build/requirements-runtime.txt \
    && sh /tmp/build/slim_runtime.sh "${LAMBDA_TASK_ROOT}" \
    && rm -rf /tmp/build

# What the function runs, nothing else: the runtime package, the model and its card, the
# handler (tests/unit/test_image.py checks the list).
COPY catbreed/ ${LAMBDA_TASK_ROOT}/catbreed/
COPY model/catbreed.tflite model/model_card.json ${LAMBDA_TASK_ROOT}/model/
COPY lambda_function.py ${LAMBDA_TASK_ROOT}/

ENV CATBREED_THREADS=1
CMD ["lambda_function.lambda_handler"]
